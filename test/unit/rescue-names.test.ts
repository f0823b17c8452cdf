import { expect } from 'chai';
import { safeFileName, uniqueName } from '../../scripts/rescue-lib.js';

describe('heirloom-rescue file names', () => {
  it('keeps ordinary names as they are, accents and spaces included', () => {
    for (const name of ['passport.pdf', 'Grand-mère’s letter.txt', 'IMG 0001.JPG', 'tax return 2025 (final).pdf', 'a..b.txt']) {
      expect(safeFileName(name)).to.equal(name);
    }
  });

  it('never lets a name leave the folder or hide', () => {
    expect(safeFileName('../../etc/passwd')).to.equal('_._.._etc_passwd');
    expect(safeFileName('..')).to.equal('document');
    expect(safeFileName('.')).to.equal('document');
    expect(safeFileName('')).to.equal('document');
    expect(safeFileName('   ')).to.equal('document');
    expect(safeFileName('.bashrc')).to.equal('_bashrc');
    expect(safeFileName('C:\\Windows\\x.dll')).to.equal('C__Windows_x.dll');
    expect(safeFileName('a\u0000b\nc')).to.equal('a_b_c');
    expect(safeFileName('what?*<>|".txt')).to.equal('what______.txt');
    expect(safeFileName('name. . ')).to.equal('name');
    for (const name of ['../x', 'a/b', 'a\\b', '..', '/abs']) {
      const safe = safeFileName(name);
      expect(safe).to.not.match(/[/\\]/);
      expect(safe).to.not.equal('..');
    }
  });

  it('shortens long names to 200 bytes, keeping the extension', () => {
    const long = `${'é'.repeat(300)}.pdf`;
    const safe = safeFileName(long);
    expect(Buffer.byteLength(safe)).to.be.at.most(200);
    expect(safe.endsWith('.pdf')).to.equal(true);
    expect(safe.startsWith('éé')).to.equal(true);
  });

  it('numbers repeated names like a file manager, ignoring case', () => {
    const taken = new Set<string>();
    expect(uniqueName('report.pdf', taken)).to.equal('report.pdf');
    expect(uniqueName('report.pdf', taken)).to.equal('report (2).pdf');
    expect(uniqueName('Report.PDF', taken)).to.equal('Report (3).PDF');
    expect(uniqueName('notes', taken)).to.equal('notes');
    expect(uniqueName('notes', taken)).to.equal('notes (2)');
    expect(uniqueName('.hidden', new Set(['.hidden']))).to.equal('.hidden (2)');
  });
});
