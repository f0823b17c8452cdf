import { expect } from 'chai';
import { emptyPins, type Pin, type Pins } from '../../client/crypto/index.js';
import { mergePins } from '../../client/pages/trust.js';

const BOB = '0b0b0b0b-0000-4000-8000-000000000001';
const CAROL = '0c0c0c0c-0000-4000-8000-000000000002';
const SPACE = '5a5a5a5a-0000-4000-8000-000000000003';
const OLD = 'aa'.repeat(32);
const NEW = 'bb'.repeat(32);

const seen = (fp: string, at: number): Pin => ({ fp, verified: false, seen: at, verifiedAt: null });
const verified = (fp: string, at: number, when: number): Pin => ({ fp, verified: true, seen: at, verifiedAt: when });
function pins(users: Record<string, Pin>, spaces: Record<string, number> = {}): Pins {
  return { ...emptyPins(), users, spaces };
}

/** trust.ts: what a tab keeps when another tab saved the pins in between (crypto.md "Fingerprints"). */
describe('merging pins saved by two tabs', () => {
  it('keeps a pin that only one side has', () => {
    const merged = mergePins(pins({ [BOB]: seen(OLD, 1) }), pins({ [CAROL]: seen(NEW, 2) }));
    expect(merged.users).to.deep.equal({ [BOB]: seen(OLD, 1), [CAROL]: seen(NEW, 2) });
  });

  it('keeps verified over seen for the same fingerprint, and the first sighting', () => {
    expect(mergePins(pins({ [BOB]: seen(OLD, 5) }), pins({ [BOB]: verified(OLD, 7, 9) })).users[BOB]).to.deep.equal(verified(OLD, 5, 9));
    expect(mergePins(pins({ [BOB]: verified(OLD, 7, 9) }), pins({ [BOB]: seen(OLD, 5) })).users[BOB]).to.deep.equal(verified(OLD, 5, 9));
  });

  it('never replaces a pinned fingerprint with a different one that nobody verified', () => {
    expect(mergePins(pins({ [BOB]: seen(OLD, 1) }), pins({ [BOB]: seen(NEW, 2) })).users[BOB]).to.deep.equal(seen(OLD, 1));
    expect(mergePins(pins({ [BOB]: verified(OLD, 1, 2) }), pins({ [BOB]: seen(NEW, 3) })).users[BOB]).to.deep.equal(verified(OLD, 1, 2));
  });

  it('takes a different fingerprint the person verified, the later one when both sides verified', () => {
    expect(mergePins(pins({ [BOB]: seen(OLD, 1) }), pins({ [BOB]: verified(NEW, 3, 4) })).users[BOB]).to.deep.equal(verified(NEW, 3, 4));
    expect(mergePins(pins({ [BOB]: verified(OLD, 1, 2) }), pins({ [BOB]: verified(NEW, 3, 4) })).users[BOB]).to.deep.equal(verified(NEW, 3, 4));
    expect(mergePins(pins({ [BOB]: verified(NEW, 3, 8) }), pins({ [BOB]: verified(OLD, 1, 2) })).users[BOB]).to.deep.equal(verified(NEW, 3, 8));
  });

  it('keeps the highest generation of every space either side has seen', () => {
    const merged = mergePins(pins({}, { [SPACE]: 4 }), pins({}, { [SPACE]: 2, [CAROL]: 1 }));
    expect(merged.spaces).to.deep.equal({ [SPACE]: 4, [CAROL]: 1 });
  });
});
