import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMPTY_NOTE, holder, noteIdOf, readNote, recordedAll, withHolder, writeNote, type Note } from '../../src/core/note.ts';
import { resolveOptions } from '../../src/core/options.ts';
import { SHARED_SECRET } from '../helpers/sites.ts';

const { sites } = resolveOptions({ sites: ['https://a.example', 'https://b.example', 'https://c.example'], secret: SHARED_SECRET });
// On Web Crypto the note ids (a SHA-256 each) are known a moment after the options are.
await sites.ready;
const [a, b, c] = sites.noteIds as [string, string, string];
const KEY = 'K'.repeat(22);

describe('the note inside a shared session record', () => {
  it('records and reads each site’s mode, replacing an earlier one', () => {
    let note = EMPTY_NOTE;
    assert.equal(holder(note, a), undefined);
    note = withHolder(note, a, 'held');
    note = withHolder(note, b, 'pushed');
    assert.deepEqual([holder(note, a), holder(note, b), holder(note, c)], ['held', 'pushed', undefined]);
    note = withHolder(note, b, 'held');
    assert.equal(holder(note, b), 'held');
    assert.equal(recordedAll(note, [a, b]), true);
    assert.equal(recordedAll(note, [a, b, c]), false);
  });

  it('round-trips the link key and the moved mark, and stays small', () => {
    const note = [a, b, c].reduce<Note>((n, id) => withHolder(n, id, 'held'), { ...EMPTY_NOTE, key: KEY });
    const text = writeNote({ ...note, moved: true });
    assert.equal(text, `2${KEY}!:${a}f${b}f${c}f`);
    assert.equal(text.length, 1 + 22 + 1 + 1 + 21);
    assert.deepEqual(readNote(text), { key: KEY, previous: undefined, moved: true, entries: `${a}f${b}f${c}f` });
    const followed = writeNote({ ...note, previous: 'P'.repeat(22) });
    assert.equal(followed, `2${KEY}~${'P'.repeat(22)}:${a}f${b}f${c}f`);
    assert.equal(readNote(followed).previous, 'P'.repeat(22));
    assert.deepEqual(readNote(writeNote(EMPTY_NOTE)), EMPTY_NOTE);
  });

  it('names a site by its origin, whatever the order of `sites` in another app', async () => {
    const other = resolveOptions({ sites: ['https://c.example', 'https://a.example'], secret: SHARED_SECRET }).sites;
    await other.ready;
    assert.equal(other.forOrigin('https://a.example')?.noteId, a);
    assert.equal(await noteIdOf('https://a.example'), a);
  });

  it('reads anything unexpected in the shared record as no note', () => {
    for (const value of [42, 'garbage', `1${a}f`, `2short:${a}f`, `2${KEY}:${a}`, `2${KEY}~short:${a}f`, `2${KEY}~${KEY}~${KEY}:`, { v: 1 }, null, undefined]) {
      assert.deepEqual(readNote(value), EMPTY_NOTE, JSON.stringify(value));
    }
  });
});
