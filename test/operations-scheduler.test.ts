import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { Logger } from '../src/logger.js';
import { Scheduler } from '../src/operations/scheduler.js';
import { openStorage } from '../src/storage-manager.js';
import { temporaryDirectory } from './helpers/reference.js';

interface LogRecord {
  level: string;
  object: unknown;
  message: unknown;
}

function recordingLogger(records: LogRecord[]): Logger {
  const at = (level: string) => (object: unknown, message?: unknown) => {
    records.push({ level, object, message });
  };
  const logger: Logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), fatal: at('fatal'), child: () => logger };
  return logger;
}

/** Lets real I/O (worker threads, file system) progress until `done` holds, for at most 30 s of wall time. */
async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('condition not reached within 30 s');
    await yieldToEventLoop();
  }
}

describe('Scheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs at each delay', async () => {
    let runs = 0;
    const scheduler = new Scheduler({ name: 'test', nextDelayMs: () => 1000, task: async () => { runs += 1; }, logger: recordingLogger([]) });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(999);
    expect(runs).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(3000);
    expect(runs).toBe(4);
    await scheduler.stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(runs).toBe(4);
  });

  it('never overlaps slow runs', async () => {
    let running = 0;
    let maxRunning = 0;
    let finish: (() => void) | undefined;
    const scheduler = new Scheduler({
      name: 'slow',
      nextDelayMs: () => 10,
      task: () => new Promise<void>((resolve) => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        finish = () => {
          running -= 1;
          resolve();
        };
      }),
      logger: recordingLogger([]),
    });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(running).toBe(1);
    const stopped = scheduler.stop();
    finish!();
    await stopped;
    expect(maxRunning).toBe(1);
  });

  it('failed run logged and kept', async () => {
    const records: LogRecord[] = [];
    const scheduler = new Scheduler({ name: 'failing', nextDelayMs: () => 50, task: async () => { throw new Error('disk on fire'); }, logger: recordingLogger(records) });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(50);
    expect(scheduler.lastRun?.ok).toBe(false);
    expect(scheduler.lastRun?.error).toBe('disk on fire');
    expect(records.filter((record) => record.level === 'error')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(50);
    expect(records.filter((record) => record.level === 'error')).toHaveLength(2);
    await scheduler.stop();
  });

  it('long delay re-arms', async () => {
    let runs = 0;
    const scheduler = new Scheduler({ name: 'yearly', nextDelayMs: () => 2 ** 32, task: async () => { runs += 1; }, logger: recordingLogger([]) });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(2 ** 31);
    expect(runs).toBe(0);
    await vi.advanceTimersByTimeAsync(2 ** 31);
    expect(runs).toBe(1);
    await scheduler.stop();
  });
});

describe('scheduled storage tasks', () => {
  let folder: ReturnType<typeof temporaryDirectory>;
  beforeEach(() => {
    folder = temporaryDirectory();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
    folder.remove();
  });

  it('backup runs when due', async () => {
    const records: LogRecord[] = [];
    const storage = await openStorage({ dataDirectory: folder.path, backup: { intervalMinutes: 5 }, cleanup: { intervalMinutes: 0 }, logger: recordingLogger(records) });
    const armed = () => records.filter((record) => record.message === 'next run scheduled').length;
    try {
      storage.faces.addPerson({ id: 'x', name: 'X', list: 'known' });
      // No backup exists, so the first is due one minute after open.
      await vi.advanceTimersByTimeAsync(59_000);
      expect(storage.listBackups()).toHaveLength(0);
      await vi.advanceTimersByTimeAsync(1_000);
      await until(() => armed() === 2);
      expect(storage.listBackups()).toHaveLength(1);
      expect(storage.listBackups()[0]!.manifest!.reason).toBe('scheduled');
      // The next is due an interval after the newest backup.
      await vi.advanceTimersByTimeAsync(4 * 60_000);
      expect(storage.listBackups()).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(60_000);
      await until(() => armed() === 3);
      expect(storage.listBackups()).toHaveLength(2);
    } finally {
      await storage.close();
    }
  });

  it('cleanup runs each interval', async () => {
    const records: LogRecord[] = [];
    const storage = await openStorage({ dataDirectory: folder.path, backup: { intervalMinutes: 0 }, cleanup: { intervalMinutes: 10 }, logger: recordingLogger(records) });
    try {
      const cleanups = () => records.filter((record) => record.message === 'cleanup finished').length;
      await vi.advanceTimersByTimeAsync(10 * 60_000 - 1);
      expect(cleanups()).toBe(0);
      await vi.advanceTimersByTimeAsync(1);
      await until(() => cleanups() === 1);
      await vi.advanceTimersByTimeAsync(10 * 60_000);
      await until(() => cleanups() === 2);
    } finally {
      await storage.close();
    }
  });

  it('close stops schedulers', async () => {
    const storage = await openStorage({ dataDirectory: folder.path, backup: { intervalMinutes: 1 }, cleanup: { intervalMinutes: 0 } });
    await storage.close();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    for (let i = 0; i < 20; i++) await yieldToEventLoop();
    expect(storage.listBackups()).toHaveLength(0);
  });
});
