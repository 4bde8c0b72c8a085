import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { isAlive, processStartTime, stopProcess } from '../../stack/processes.js';

describe('process identity', () => {
  it('gives a process a start time that stays the same while it lives, and none once it is gone', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const pid = child.pid as number;
    const started = processStartTime(pid);
    expect(started).to.be.a('string').and.not.equal('');
    expect(processStartTime(pid)).to.equal(started);
    expect(isAlive(pid)).to.equal(true);
    expect(await stopProcess(pid, 5_000)).to.equal('stopped');
    expect(isAlive(pid), 'an exited child is not alive, reaped or not').to.equal(false);
    // Once Node has reaped it, the pid names no process at all.
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    expect(processStartTime(pid)).to.equal(undefined);
  });
});
