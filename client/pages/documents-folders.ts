/**
 * What a drop or a picker hands over, as a list of files to upload: loose files as they are, folders opened
 * all the way down, each of their files tagged with the name of the folder that was dropped or chosen.
 * Files a computer makes for itself (.DS_Store, Thumbs.db…) are left out and counted, so that a folder of
 * 1,000 scans does not become 1,000 scans and a few puzzling extras.
 */
import { cleanTags } from './documents-model.js';

export interface PickedFile {
  file: File;
  tags: string[];
}

export interface Picked {
  files: PickedFile[];
  /** Hidden and system files that were left out. */
  skipped: number;
}

const SYSTEM_NAMES = new Set(['.ds_store', 'thumbs.db', 'desktop.ini', 'ehthumbs.db', 'icon\r']);
const SYSTEM_FOLDERS = new Set(['__macosx', '$recycle.bin', 'system volume information']);

/** A name inside a folder that nobody means to keep: hidden (".something") or made by the system. */
export function isHiddenOrSystem(name: string): boolean {
  const lower = name.toLowerCase();
  return name.startsWith('.') || SYSTEM_NAMES.has(lower) || SYSTEM_FOLDERS.has(lower);
}

/**
 * From a folder picker (input webkitdirectory): every file carries its path below the chosen folder, whose
 * name is the first part of it.
 */
export function pickedFromFolderInput(files: FileList | File[]): Picked {
  const out: PickedFile[] = [];
  let skipped = 0;
  for (const file of Array.from(files)) {
    const parts = (file.webkitRelativePath || file.name).split('/');
    // the chosen folder's own name is whatever the person called it; only what is inside it is judged
    if (parts.slice(1).some(isHiddenOrSystem)) {
      skipped++;
      continue;
    }
    out.push({ file, tags: parts.length > 1 ? cleanTags([parts[0] ?? '']) : [] });
  }
  return { files: out, skipped };
}

/**
 * From a drop. The browser only lets the items of a drop be read while its event is being handled, so
 * this takes hold of them at once (call it inside the `drop` listener) and opens the folders afterwards.
 */
export function pickedFromDrop(data: DataTransfer): Promise<Picked> {
  const loose: File[] = [];
  const folders: FileSystemDirectoryEntry[] = [];
  for (const item of Array.from(data.items)) {
    if (item.kind !== 'file') continue;
    const entry = typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null;
    if (entry?.isDirectory) {
      folders.push(entry as FileSystemDirectoryEntry);
      continue;
    }
    const file = item.getAsFile();
    if (file) loose.push(file);
  }
  if (!data.items.length) loose.push(...Array.from(data.files)); // a browser without items
  return (async () => {
    const picked: Picked = { files: loose.map((file) => ({ file, tags: [] })), skipped: 0 };
    for (const folder of folders) await readFolder(folder, cleanTags([folder.name]), picked);
    return picked;
  })();
}

/** Every file below `root`, depth first, in the order the system lists them. */
async function readFolder(root: FileSystemDirectoryEntry, tags: string[], into: Picked): Promise<void> {
  const pending: FileSystemDirectoryEntry[] = [root];
  for (let dir = pending.pop(); dir; dir = pending.pop()) {
    const reader = dir.createReader();
    // readEntries answers in batches (about 100 at a time in Chromium) until it answers with none
    for (;;) {
      const entries = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
      if (!entries.length) break;
      for (const entry of entries) {
        if (isHiddenOrSystem(entry.name)) {
          into.skipped += entry.isDirectory ? await countFiles(entry as FileSystemDirectoryEntry) : 1;
        } else if (entry.isDirectory) {
          pending.push(entry as FileSystemDirectoryEntry);
        } else {
          const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
          into.files.push({ file, tags });
        }
      }
    }
  }
}

/** How many files a skipped folder (__MACOSX…) held, so the count says what was really left out. */
async function countFiles(root: FileSystemDirectoryEntry): Promise<number> {
  const ignored: Picked = { files: [], skipped: 0 };
  await readFolder(root, [], ignored);
  return ignored.files.length + ignored.skipped;
}
