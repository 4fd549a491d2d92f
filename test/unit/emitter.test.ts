import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { warnNoSession } from '../../src/core/adapter.ts';
import { Emitter } from '../../src/core/emitter.ts';
import type { RejectedEvent, RequestFacts, WarningEvent } from '../../src/index.ts';
import { SharedSession } from '../../src/index.ts';
import { SHARED_SECRET } from '../helpers/sites.ts';

type Events = { tick: [count: number]; tock: [] };

function emitter(errors: unknown[] = []): Emitter<Events> {
  return new Emitter<Events>({ onListenerError: (error, event) => errors.push([event, error]) });
}

describe('the core’s typed event emitter', () => {
  it('runs listeners in the order they were added, with their arguments, and says whether there were any', () => {
    const events = emitter();
    const seen: string[] = [];
    events.on('tick', (count) => seen.push(`a${count}`)).on('tick', (count) => seen.push(`b${count}`));
    assert.equal(events.emit('tick', 1), true);
    assert.equal(events.emit('tock'), false);
    assert.deepEqual(seen, ['a1', 'b1']);
    assert.equal(events.listenerCount('tick'), 2);
  });

  it('runs a once listener a single time, even when an emit inside it emits again', () => {
    const events = emitter();
    let runs = 0;
    events.once('tick', (count) => {
      runs++;
      if (count === 1) events.emit('tick', 2);
    });
    events.emit('tick', 1);
    events.emit('tick', 3);
    assert.equal(runs, 1);
    assert.equal(events.listenerCount('tick'), 0);
  });

  it('removes the latest registration of a listener with off, once ones included; an unknown one is no error', () => {
    const events = emitter();
    const seen: number[] = [];
    const listener = (count: number): void => void seen.push(count);
    events.on('tick', listener).on('tick', listener);
    events.off('tick', listener);
    events.emit('tick', 1);
    events.off('tick', listener).off('tick', listener);
    events.emit('tick', 2);
    events.once('tick', listener).off('tick', listener);
    events.emit('tick', 3);
    assert.deepEqual(seen, [1]);
  });

  it('runs the listeners registered when an emit started', () => {
    const events = emitter();
    const seen: string[] = [];
    const late = (): void => void seen.push('late');
    const second = (): void => void seen.push('second');
    events.on('tock', () => {
      seen.push('first');
      events.on('tock', late);
      events.off('tock', second);
    });
    events.on('tock', second);
    events.emit('tock');
    assert.deepEqual(seen, ['first', 'second']);
  });

  it('gives no event a special meaning: an "error"-like event without listeners does nothing', () => {
    const events = new Emitter<{ error: [error: Error] }>({ onListenerError: () => assert.fail() });
    assert.equal(events.emit('error', new Error('nobody listens')), false);
  });

  it('hands a throwing listener’s error to onListenerError and runs the others; emit does not throw', () => {
    const errors: unknown[] = [];
    const events = emitter(errors);
    const seen: number[] = [];
    const failure = new Error('listener bug');
    events.on('tick', () => {
      throw failure;
    });
    events.on('tick', (count) => seen.push(count));
    assert.equal(events.emit('tick', 7), true);
    assert.deepEqual(seen, [7]);
    assert.deepEqual(errors, [['tick', failure]]);
  });

  it('calls listeners with the target as `this`, and refuses a listener that is not a function', () => {
    const target = {};
    const events = new Emitter<Events>({ target, onListenerError: () => assert.fail() });
    const selves: unknown[] = [];
    events.on('tock', function (this: unknown) {
      selves.push(this);
    });
    events.emit('tock');
    assert.deepEqual(selves, [target]);
    assert.equal(selves[0], target);
    assert.throws(() => events.on('tick', 'not a function' as never), TypeError);
  });
});

describe('SharedSession events', () => {
  const SITES = ['https://a.example', 'https://b.example'];
  const refused: RequestFacts = {
    raw: 'the request',
    method: 'GET',
    path: '/shared-session/hop',
    search: '',
    host: 'unknown.example',
    https: true,
    header: () => undefined,
  };

  it('emits rejected to on/once listeners, and stops after off', async () => {
    const core = new SharedSession({ sites: SITES, secret: SHARED_SECRET, hubProbe: false });
    const seen: string[] = [];
    const listener = (event: RejectedEvent): void => void seen.push(`on ${event.reason}`);
    core.on('rejected', listener).once('rejected', (event) => seen.push(`once ${event.reason}`));
    await core.handle(refused, undefined);
    core.off('rejected', listener);
    await core.handle(refused, undefined);
    assert.deepEqual(seen, ['on UNKNOWN_HOST', 'once UNKNOWN_HOST']);
    assert.equal(core.listenerCount('rejected'), 0);
  });

  it('offers no way to emit from outside the core', () => {
    const core = new SharedSession({ sites: SITES, secret: SHARED_SECRET, hubProbe: false });
    for (const name of ['emit', 'rejected', 'warn', 'warnOnce']) assert.equal(name in core, false, name);
  });

  it('lets an adapter warn NO_SESSION, once per core', () => {
    const core = new SharedSession({ sites: SITES, secret: SHARED_SECRET, hubProbe: false });
    const warnings: WarningEvent[] = [];
    core.on('warning', (event) => warnings.push(event));
    warnNoSession(core, 'mount the session middleware first');
    warnNoSession(core, 'mount the session middleware first');
    assert.deepEqual(warnings, [{ code: 'NO_SESSION', message: 'mount the session middleware first' }]);
  });

  it('answers a request whose rejected listener throws as if it had not, and reports the error as a LISTENER_FAILED warning', async () => {
    const core = new SharedSession({ sites: SITES, secret: SHARED_SECRET, hubProbe: false });
    const failure = new Error('listener bug');
    const warnings: WarningEvent[] = [];
    core.on('rejected', () => {
      throw failure;
    });
    core.on('warning', (event) => warnings.push(event));
    const handled = await core.handle(refused, undefined);
    assert.equal(handled.kind, 'reply');
    assert.equal(handled.kind === 'reply' && handled.reply.status, 421);
    assert.deepEqual(
      warnings.map(({ code, cause }) => [code, cause]),
      [['LISTENER_FAILED', failure]],
    );
  });

  it('reports a throwing warning listener on the console, not through warning again', async (t) => {
    const core = new SharedSession({ sites: SITES, secret: SHARED_SECRET, hubProbe: false });
    const printed = t.mock.method(console, 'error', () => undefined);
    let warnings = 0;
    core.on('rejected', () => {
      throw new Error('rejected listener bug');
    });
    core.on('warning', () => {
      warnings++;
      throw new Error('warning listener bug');
    });
    const handled = await core.handle(refused, undefined);
    assert.equal(handled.kind, 'reply');
    assert.equal(warnings, 1);
    assert.equal(printed.mock.callCount(), 1);
  });
});
