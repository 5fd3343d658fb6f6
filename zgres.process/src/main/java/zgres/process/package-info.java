/**
 * Running programs for zgres: one process runner ({@link zgres.process.Exec}: a deadline, output drained while the
 * program runs, optionally as another user), signals by PID ({@link zgres.process.Signals}), kept-alive daemons
 * ({@link zgres.process.Daemon}) and files written atomically and exclusively ({@link zgres.process.AtomicFile}).
 * Used by the deadman and the plugins.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package zgres.process;
