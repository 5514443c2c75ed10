/**
 * Background work a component starts and must see finished before it stops: a task's failure goes
 * to its `onError` (never an unhandled rejection), and `settled()` resolves once every task
 * running then is done.
 */
export class Tasks {
  private readonly running = new Set<Promise<void>>();

  run(task: Promise<void>, onError: (err: unknown) => void): Promise<void> {
    const done = task.catch(onError).finally(() => this.running.delete(done));
    this.running.add(done);
    return done;
  }

  async settled(): Promise<void> {
    await Promise.all([...this.running]);
  }
}
