package org.ttt4j.server;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.lm.api.LanguageModel;
import org.ttt4j.lm.api.Session;
import org.ttt4j.lm.infer.Decoding;
import org.ttt4j.lm.infer.Generator;
import org.ttt4j.lm.infer.SamplingOptions;
import org.ttt4j.lm.methods.qttt.QtttOptions;
import org.ttt4j.lm.methods.qttt.QtttSession;

/**
 * The one thread that runs the model. Requests become jobs in a queue; each turn of the loop
 * admits the jobs whose sessions are free (a session's jobs run one after the other, in arrival
 * order), reads one prompt piece of every job still reading, then decodes one token of every job
 * that is generating, all of them in one batched step ({@link Session#nextAll}). A long prompt
 * therefore delays the others by one piece per token, not by its whole length.
 *
 * <p>A job that names a session is applied whole or not at all: the session's state file is
 * rewritten (atomically) when the job ends, before the client hears it ended; a job that fails or
 * whose client goes away leaves the file as it was and drops the changed copy from memory. Files
 * are written by a saver thread while the engine goes on decoding; the session stays held until its
 * file is written.
 */
final class Engine implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Engine.class.getName());
    /** Prompt tokens read per job per turn. */
    static final int PIECE = 256;

    /** What a job reports to its request. */
    interface Listener {
        /** A piece of generated text (whole characters, never part of a stop string). */
        void text(String piece);

        /** The job ended and its session (if any) is saved. */
        void done(Result result);

        /** The job failed; its session is as it was before. */
        void failed(Throwable error);
    }

    /** How a generation ended. */
    record Result(String text, int promptTokens, int completionTokens, String stopReason, String session, long position) {
        /** OpenAI's finish_reason. */
        String finishReason() {
            return "max_tokens".equals(stopReason) ? "length" : "stop";
        }
    }

    /** A generation (or, with no sampling options, a read) over a session or a fresh state. */
    static final class Job {
        final String sessionId;
        final boolean create;
        final int[] prompt;
        final SamplingOptions options;
        final QtttOptions qttt;
        final Listener listener;
        volatile boolean cancelled;
        // engine state
        Session session;
        QtttSession adapted;
        Decoding decoding;
        int read;
        int pending = -1;

        /**
         * @param sessionId the session to continue, or to create when {@code create}; null for a state of its own
         * @param prompt tokens to read first
         * @param options how to generate; null to read only
         * @param qttt adapt the queries to the prompt first (no session)
         */
        Job(String sessionId, boolean create, int[] prompt, SamplingOptions options, QtttOptions qttt, Listener listener) {
            this.sessionId = sessionId;
            this.create = create;
            this.prompt = prompt;
            this.options = options != null ? options : SamplingOptions.greedy(0);
            this.qttt = qttt;
            this.listener = listener;
        }

        /** The client went away: stop, and leave the session as it was. */
        void cancel() {
            cancelled = true;
        }
    }

    /** A job whose session the saver thread has written. */
    private record Saved(Job job, Result result, Throwable error) {}

    /** A short operation on sessions, run in order with the jobs that touch them. */
    private record Op(Set<String> sessions, java.util.concurrent.Callable<Object> body, CompletableFuture<Object> result) {}

    private final LanguageModel model;
    private final SessionStore store;
    private final Metrics metrics;
    private final BlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final List<Object> waiting = new ArrayList<>();
    private final List<Job> active = new ArrayList<>();
    private final Set<String> busy = new HashSet<>();
    private final Thread thread;
    /** Writes finished sessions' files, in the order the jobs ended, while the engine goes on decoding. */
    private final java.util.concurrent.ExecutorService saver = java.util.concurrent.Executors.newSingleThreadExecutor(
            r -> Thread.ofPlatform().name("ttt4j-serve-saver").daemon(true).unstarted(r));
    private volatile boolean running = true;

    Engine(LanguageModel model, SessionStore store, Metrics metrics) {
        this.model = model;
        this.store = store;
        this.metrics = metrics;
        this.thread = Thread.ofPlatform().name("ttt4j-serve-engine").daemon(true).unstarted(this::loop);
        thread.start();
    }

    /** Queues a job; its listener hears how it went. */
    void submit(Job job) {
        if (!running) throw new ApiException(503, "server_error", null, "the server is shutting down");
        queue.add(job);
        if (!running && queue.remove(job)) throw new ApiException(503, "server_error", null, "the server is shutting down");
        metrics.queued(queue.size());
    }

    /** Runs {@code body} on the engine thread once no earlier job holds any of {@code sessions}. */
    @SuppressWarnings("unchecked")
    <T> CompletableFuture<T> run(Set<String> sessions, java.util.concurrent.Callable<T> body) {
        if (!running) throw new ApiException(503, "server_error", null, "the server is shutting down");
        var f = new CompletableFuture<Object>();
        var op = new Op(Set.copyOf(sessions), (java.util.concurrent.Callable<Object>) body, f);
        queue.add(op);
        if (!running && queue.remove(op)) throw new ApiException(503, "server_error", null, "the server is shutting down");
        return (CompletableFuture<T>) (CompletableFuture<?>) f;
    }

    /** Jobs queued or running. */
    int load() {
        return queue.size() + waiting.size() + active.size();
    }

    private void loop() {
        try (var off = GradMode.disabled()) {
            while (running) {
                queue.drainTo(waiting);
                for (Iterator<Object> it = waiting.iterator(); it.hasNext(); ) {
                    if (it.next() instanceof Saved saved) {
                        it.remove();
                        finished(saved.job, saved.result, saved.error);
                    }
                }
                admit();
                dropCancelled();
                if (active.isEmpty()) {
                    // Nothing to run: what is waiting waits for a session, which only a queued event (a save) frees.
                    Object next = queue.poll(1, TimeUnit.SECONDS);
                    if (next != null) waiting.add(next);
                    continue;
                }
                prefill();
                decode();
                metrics.queued(queue.size() + waiting.size());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            LOG.log(Level.SEVERE, "the engine stopped", t);
        } finally {
            running = false;
            // Saves already handed over end first, so that their requests hear how they went.
            saver.shutdown();
            try {
                saver.awaitTermination(1, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            List<Object> left = new ArrayList<>(active);
            left.addAll(waiting);
            queue.drainTo(left);
            for (Object o : left) {
                var e = new ApiException(503, "server_error", null, "the server is shutting down");
                if (o instanceof Job j) fail(j, e);
                else if (o instanceof Op op) op.result.completeExceptionally(e);
                else if (o instanceof Saved saved) finished(saved.job, saved.result, saved.error);
            }
        }
    }

    /** Starts every waiting job or op whose sessions no running or earlier waiting one holds. */
    private void admit() {
        Set<String> blocked = new HashSet<>();
        for (Iterator<Object> it = waiting.iterator(); it.hasNext(); ) {
            Object o = it.next();
            Set<String> need = o instanceof Job j ? (j.sessionId == null ? Set.of() : Set.of(j.sessionId)) : ((Op) o).sessions;
            boolean free = true;
            for (String s : need) free &= !busy.contains(s) && !blocked.contains(s);
            if (!free) {
                blocked.addAll(need);
                continue;
            }
            it.remove();
            if (o instanceof Op op) {
                try {
                    op.result.complete(op.body.call());
                } catch (Throwable t) {
                    op.result.completeExceptionally(t);
                }
            } else {
                start((Job) o);
            }
        }
    }

    private void start(Job j) {
        if (j.cancelled) return;
        try {
            if (j.sessionId != null) {
                busy.add(j.sessionId);
                if (j.create) {
                    if (store.exists(j.sessionId)) throw new ApiException(409, "invalid_request_error", "id", "session \"" + j.sessionId + "\" exists");
                    j.session = model.session();
                } else {
                    j.session = store.acquire(j.sessionId);
                }
            } else if (j.qttt == null) {
                j.session = model.session();
            }
            int[] context = j.prompt;
            boolean fresh = j.session == null || j.session.position() == 0;
            if (context.length == 0 && (fresh && j.options.maxTokens() > 0 || j.qttt != null)) context = new int[] {model.tokenizer().documentBoundary()};
            j.decoding = new Decoding(model.tokenizer(), model.config().vocabSize(), context, j.options, j.listener::text);
            if (j.qttt != null) {
                int[] ctx = context.length >= 2 ? context : new int[] {model.tokenizer().documentBoundary(), context[0]};
                long t0 = System.nanoTime();
                j.adapted = QtttSession.prefill(model.decoder(), ctx, Generator.PREFILL_CHUNK);
                j.adapted.adapt(j.qttt, null);
                metrics.prefilled(ctx.length, System.nanoTime() - t0);
                j.read = j.prompt.length;
            }
            if (j.session != null && j.prompt != context) {
                // An empty prompt on a fresh state starts a document.
                j.session.feed(context);
                j.read = j.prompt.length;
            }
            active.add(j);
            if (j.read == j.prompt.length) advance(j, lastLogits(j));
        } catch (Throwable t) {
            fail(j, t);
        }
    }

    private float[] lastLogits(Job j) {
        return j.adapted != null ? j.adapted.lastLogits() : j.session.lastLogits();
    }

    private void dropCancelled() {
        for (Iterator<Job> it = active.iterator(); it.hasNext(); ) {
            Job j = it.next();
            if (j.cancelled) {
                it.remove();
                end(j, false);
                metrics.cancelled();
            }
        }
    }

    /** One prompt piece of every job still reading its prompt. */
    private void prefill() {
        for (Job j : List.copyOf(active)) {
            if (j.read >= j.prompt.length || j.adapted != null) continue;
            try {
                int n = Math.min(PIECE, j.prompt.length - j.read);
                long t0 = System.nanoTime();
                j.session.feed(Arrays.copyOfRange(j.prompt, j.read, j.read + n));
                metrics.prefilled(n, System.nanoTime() - t0);
                j.read += n;
                if (j.read == j.prompt.length) advance(j, j.session.lastLogits());
            } catch (Throwable t) {
                if (active.contains(j)) fail(j, t);
            }
        }
    }

    /** One token of every generating job: sessions together in one batched step, qTTT states one by one. */
    private void decode() {
        List<Job> batch = new ArrayList<>();
        for (Job j : active) if (j.pending >= 0 && j.session != null) batch.add(j);
        if (!batch.isEmpty()) {
            List<Session> sessions = new ArrayList<>();
            int[] ids = new int[batch.size()];
            for (int i = 0; i < ids.length; i++) {
                sessions.add(batch.get(i).session);
                ids[i] = batch.get(i).pending;
            }
            float[][] logits = null;
            try {
                long t0 = System.nanoTime();
                logits = Session.nextAll(sessions, ids);
                metrics.decoded(ids.length, System.nanoTime() - t0);
            } catch (Throwable t) {
                for (Job j : batch) fail(j, t);
            }
            for (int i = 0; logits != null && i < ids.length; i++) {
                Job j = batch.get(i);
                j.pending = -1;
                try {
                    advance(j, logits[i]);
                } catch (Throwable t) {
                    if (active.contains(j)) fail(j, t);
                }
            }
        }
        for (Job j : List.copyOf(active)) {
            if (j.pending < 0 || j.adapted == null) continue;
            try {
                long t0 = System.nanoTime();
                j.adapted.feed(new int[] {j.pending});
                metrics.decoded(1, System.nanoTime() - t0);
                j.pending = -1;
                advance(j, j.adapted.lastLogits());
            } catch (Throwable t) {
                if (active.contains(j)) fail(j, t);
            }
        }
    }

    /** Given the logits after everything the job has read: pick the next token, or end the job. */
    private void advance(Job j, float[] logits) {
        if (!j.decoding.done()) {
            int next = j.decoding.pick(logits);
            // Every token picked is read into a kept session, the last one too, so the next request continues after it.
            if (next >= 0 && (!j.decoding.done() || j.sessionId != null)) {
                j.pending = next;
                return;
            }
        }
        active.remove(j);
        end(j, true);
    }

    private void fail(Job j, Throwable t) {
        active.remove(j);
        end(j, false);
        if (!(t instanceof ApiException)) LOG.log(Level.WARNING, "request failed", t);
        metrics.failed();
        j.listener.failed(t);
    }

    /**
     * Ends a job: a failed one forgets its session's changed copy; a finished one reports at once
     * without a session, else once the saver thread has written the session's file. The session
     * stays held until then, so its next job starts from what is on disk.
     */
    private void end(Job j, boolean ok) {
        String id = j.sessionId;
        if (!ok) {
            if (id != null && !j.create) store.forget(id);
            free(j);
            return;
        }
        var out = j.decoding.output(0, 0);
        var result = new Result(out.text(), j.prompt.length, out.tokens().length, out.stopReason(), id, j.session != null ? j.session.position() : -1);
        if (id == null) {
            finished(j, result, null);
            return;
        }
        try {
            saver.execute(() -> {
                Throwable error = null;
                try {
                    store.put(id, j.session, false);
                } catch (Throwable t) {
                    error = t;
                }
                queue.add(new Saved(j, result, error));
            });
        } catch (java.util.concurrent.RejectedExecutionException shuttingDown) {
            finished(j, result, new ApiException(503, "server_error", null, "the server is shutting down"));
        }
    }

    /** On the engine thread, once a job's session is saved (or failed to be). */
    private void finished(Job j, Result result, Throwable saveError) {
        if (saveError != null) {
            LOG.log(Level.WARNING, "saving session " + j.sessionId + " failed", saveError);
            if (!j.create) store.forget(j.sessionId);
            free(j);
            metrics.failed();
            j.listener.failed(saveError);
            return;
        }
        free(j);
        metrics.completed(result.promptTokens(), result.completionTokens());
        j.listener.done(result);
    }

    private void free(Job j) {
        if (j.sessionId != null && busy.remove(j.sessionId) && !j.create) store.release(j.sessionId);
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(TimeUnit.MINUTES.toMillis(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
