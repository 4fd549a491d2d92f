import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { arrivedByPush, holder, noteIdOf, withHolder } from '../../src/core/note.ts';
import { resolveOptions } from '../../src/core/options.ts';

const { sites } = resolveOptions({
  sites: ['https://a.example', 'https://b.example', 'https://c.example'],
  secret: '4tSIvaCP5/rOkWXemTEe42H5UZQZDnJOPB7QxBS+k/0unlxf1JSz9U259MCwwwYy',
});
const [a, b, c] = sites.all as [(typeof sites.all)[0], (typeof sites.all)[0], (typeof sites.all)[0]];

describe('the note of which sites hold a session', () => {
  it('records and reads each site’s mode, replacing an earlier one', () => {
    let note: unknown = undefined;
    assert.equal(holder(note, a), undefined);
    note = withHolder(note, a, 'first-party');
    note = withHolder(note, b, 'cross-site');
    assert.deepEqual([holder(note, a), holder(note, b), holder(note, c)], ['first-party', 'cross-site', undefined]);
    note = withHolder(note, b, 'pushed');
    assert.equal(holder(note, b), 'pushed');
    assert.equal(arrivedByPush(note, b), true);
    assert.equal(arrivedByPush(note, a), false);
  });

  it('stays small: 1 + 7 characters per site', () => {
    const note = [a, b, c].reduce<unknown>((n, site) => withHolder(n, site, 'first-party'), undefined);
    assert.equal(typeof note, 'string');
    assert.equal((note as string).length, 22);
  });

  it('names a site by its origin, whatever the order of `sites` in another app', () => {
    const other = resolveOptions({ sites: ['https://c.example', 'https://a.example'], secret: '4tSIvaCP5/rOkWXemTEe42H5UZQZDnJOPB7QxBS+k/0unlxf1JSz9U259MCwwwYy' }).sites;
    const note = withHolder(undefined, a, 'cross-site');
    assert.equal(holder(note, other.forOrigin('https://a.example')!), 'cross-site');
    assert.equal(noteIdOf('https://a.example'), a.noteId);
  });

  it('reads anything unexpected in the shared record as an empty note', () => {
    for (const value of [42, 'garbage', '2AbCdEff', { v: 1, held: {} }, null, `1${a.noteId}`]) {
      assert.equal(holder(value, a), undefined, JSON.stringify(value));
      assert.equal(holder(withHolder(value, b, 'first-party'), b), 'first-party');
    }
  });
});
