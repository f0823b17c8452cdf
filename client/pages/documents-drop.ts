/**
 * Files dropped anywhere on the page, not only on the drop zone: a full-page overlay says what will happen
 * while files are dragged over the window. Drags of text or links are left alone.
 */
import { show } from './dom.js';

/**
 * `dropped` gets the drop's DataTransfer during the event itself: its folders can only be opened then
 * (documents-folders.ts).
 */
export function attachDrop(overlay: HTMLElement, usable: () => boolean, dropped: (data: DataTransfer) => void): void {
  let depth = 0; // dragenter/dragleave fire for every child element crossed
  const hasFiles = (e: DragEvent) => Array.from(e.dataTransfer?.types ?? []).includes('Files');
  document.addEventListener('dragenter', (e) => {
    if (!hasFiles(e) || !usable()) return;
    depth++;
    show(overlay, true);
  });
  document.addEventListener('dragleave', (e) => {
    if (!hasFiles(e)) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0) show(overlay, false);
  });
  document.addEventListener('dragover', (e) => {
    if (!hasFiles(e)) return;
    // Always claimed: a file dropped where it cannot be used (vault locked) must not open in this tab.
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = usable() ? 'copy' : 'none';
  });
  document.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault(); // never let the browser open a dropped file in place of the vault
    depth = 0;
    show(overlay, false);
    if (usable() && e.dataTransfer && (e.dataTransfer.items.length || e.dataTransfer.files.length)) dropped(e.dataTransfer);
  });
}

/** Pages without uploads (the trash): a dropped file must not replace the page. */
export function refuseDrops(): void {
  const refuse = (e: DragEvent) => {
    if (!Array.from(e.dataTransfer?.types ?? []).includes('Files')) return;
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'none';
  };
  document.addEventListener('dragover', refuse);
  document.addEventListener('drop', refuse);
}
