import { expect } from 'chai';
import {
  getSodium,
  newDocKey,
  newSpaceKey,
  ready,
  sealGrant,
  sealSpaceKey,
  sealSpaceName,
  toB64,
  toHex,
  wrapDocKeyForOwner,
  wrapDocKeyForSpace,
  type UnlockedKeys,
} from '../../client/crypto/index.js';
import { Keyring, type KeyedView, type SpaceWire, type TrustLike } from '../../client/pages/keyring.js';

interface Person {
  id: string;
  keys: UnlockedKeys;
}

function person(): Person {
  const s = getSodium();
  const box = s.crypto_box_keypair();
  const sig = s.crypto_sign_keypair();
  return {
    id: crypto.randomUUID(),
    keys: { accountKey: s.randombytes_buf(32), boxPk: box.publicKey, boxSk: box.privateKey, signPk: sig.publicKey, signSk: sig.privateKey },
  };
}

/** The part of trust.ts the keyring reads: the pinned keys of known people and the generations seen. */
class PinnedKeys implements TrustLike {
  readonly generations = new Map<string, number>();
  constructor(private readonly people: Person[]) {}
  signerKey(id: string) {
    const p = this.people.find((x) => x.id === id);
    if (!p) throw new Error('This person is not in your family directory.');
    return p.keys.signPk;
  }
  spaceGeneration(id: string) {
    return this.generations.get(id) ?? 0;
  }
  async noteSpaceGeneration(id: string, g: number) {
    this.generations.set(id, g);
  }
}

function spaceWire(spaceId: string, member: Person, signer: Person, keys: Map<number, Uint8Array>, current: number): SpaceWire {
  const currentKey = keys.get(current) ?? new Uint8Array(32);
  return {
    id: spaceId,
    name: toB64(sealSpaceName(currentKey, spaceId, current, 'Taxes')),
    nameGeneration: current,
    generation: current,
    role: 'member',
    createdBy: signer.id,
    createdAt: 1,
    members: [],
    keys: [...keys].map(([g, key]) => {
      const seal = sealSpaceKey(key, spaceId, member.id, g, member.keys.boxPk, signer.keys.signSk);
      return { generation: g, sealed: toB64(seal.sealed), sig: toB64(seal.sig), signerId: signer.id };
    }),
  };
}

const view = (over: Partial<KeyedView> & { id: string; ownerId: string }): KeyedView => ({
  keyWrap: null,
  spaceId: null,
  spaceGeneration: null,
  spaceKeyWrap: null,
  grant: null,
  ...over,
});

describe('the keyring (opening document keys of every kind)', () => {
  before(ready);

  it('opens an own document, a space document and a shared document with the keys that reached this person', () => {
    const [me, anna] = [person(), person()];
    const trust = new PinnedKeys([me, anna]);
    const spaceId = crypto.randomUUID();
    const spaceKey = newSpaceKey();
    const ring = Keyring.fromSpaces([spaceWire(spaceId, me, anna, new Map([[1, spaceKey]]), 1)], me.keys, me.id, trust);
    expect(ring.space(spaceId)?.name).to.equal('Taxes');
    expect(ring.space(spaceId)?.problem).to.equal(null);

    const [own, inSpace, shared] = [newDocKey(), newDocKey(), newDocKey()];
    const [ownId, spaceDocId, sharedId] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const grant = sealGrant(shared, sharedId, me.id, me.keys.boxPk, anna.keys.signSk);
    const opened = [
      ring.docKey(view({ id: ownId, ownerId: me.id, keyWrap: toB64(wrapDocKeyForOwner(me.keys.accountKey, own, ownId, me.id)) })),
      ring.docKey(
        view({ id: spaceDocId, ownerId: anna.id, spaceId, spaceGeneration: 1, spaceKeyWrap: toB64(wrapDocKeyForSpace(spaceKey, inSpace, spaceDocId, spaceId, 1)) }),
      ),
      ring.docKey(view({ id: sharedId, ownerId: anna.id, grant: { sharerId: anna.id, sealed: toB64(grant.sealed), sig: toB64(grant.sig) } })),
    ];
    expect(opened.map(toHex)).to.deep.equal([own, inSpace, shared].map(toHex));
  });

  it('refuses a grant the server presents as coming from someone other than who signed it', () => {
    const [me, anna, mallory] = [person(), person(), person()];
    const ring = Keyring.fromSpaces([], me.keys, me.id, new PinnedKeys([me, anna, mallory]));
    const docId = crypto.randomUUID();
    const grant = sealGrant(newDocKey(), docId, me.id, me.keys.boxPk, mallory.keys.signSk);
    const v = view({ id: docId, ownerId: anna.id, grant: { sharerId: anna.id, sealed: toB64(grant.sealed), sig: toB64(grant.sig) } });
    expect(() => ring.docKey(v)).to.throw(/signature on this shared document is not valid/);
  });

  it('opens a shared document this reader has accepted with their own account key and ID, without the grant', () => {
    const [me, anna] = [person(), person()];
    // anna is not even in this trust: only the accepted wrap can open it
    const ring = Keyring.fromSpaces([], me.keys, me.id, new PinnedKeys([me]));
    const docId = crypto.randomUUID();
    const key = newDocKey();
    const grant = sealGrant(key, docId, me.id, me.keys.boxPk, anna.keys.signSk);
    const shared = { sharerId: anna.id, sealed: toB64(grant.sealed), sig: toB64(grant.sig) };
    const accepted = view({ id: docId, ownerId: anna.id, keyWrap: toB64(wrapDocKeyForOwner(me.keys.accountKey, key, docId, me.id)), grant: shared });
    expect(toHex(ring.docKey(accepted))).to.equal(toHex(key));
    // the owner's wrap handed to the reader does not open: the associated data names the reader
    const owners = view({ id: docId, ownerId: anna.id, keyWrap: toB64(wrapDocKeyForOwner(me.keys.accountKey, key, docId, anna.id)), grant: shared });
    expect(() => ring.docKey(owners)).to.throw();
  });

  it('marks a space stale when the server serves an older key generation than this browser has seen, and never notes it', async () => {
    const [me, anna] = [person(), person()];
    const trust = new PinnedKeys([me, anna]);
    const spaceId = crypto.randomUUID();
    trust.generations.set(spaceId, 2);
    const ring = Keyring.fromSpaces([spaceWire(spaceId, me, anna, new Map([[1, newSpaceKey()]]), 1)], me.keys, me.id, trust);
    const space = ring.space(spaceId);
    expect(space?.stale).to.equal(true);
    expect(space?.problem).to.match(/older key for this space/);
    expect(trust.spaceGeneration(spaceId)).to.equal(2);
  });

  it('does not open a space key signed by someone whose key this browser cannot trust', () => {
    const [me, anna, stranger] = [person(), person(), person()];
    const spaceId = crypto.randomUUID();
    const ring = Keyring.fromSpaces([spaceWire(spaceId, me, stranger, new Map([[1, newSpaceKey()]]), 1)], me.keys, me.id, new PinnedKeys([me, anna]));
    expect(ring.space(spaceId)?.problem).to.match(/not in your family directory/);
    expect(() => ring.space(spaceId)?.keyOf(1)).to.throw(/not in your family directory/);
    expect(ring.space(spaceId)?.name).to.equal(null);
  });
});
