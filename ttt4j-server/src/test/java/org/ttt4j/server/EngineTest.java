package org.ttt4j.server;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.lm.api.LanguageModel;
import org.ttt4j.lm.api.Session;
import org.ttt4j.lm.infer.SamplingOptions;

/** The engine's scheduling: jobs that wait together decode together; one session's jobs run in arrival order. */
class EngineTest {
    @TempDir Path dir;

    private record Outcome(CompletableFuture<Engine.Result> result, StringBuilder text) implements Engine.Listener {
        Outcome() {
            this(new CompletableFuture<>(), new StringBuilder());
        }

        @Override public void text(String piece) { text.append(piece); }

        @Override public void done(Engine.Result r) { result.complete(r); }

        @Override public void failed(Throwable error) { result.completeExceptionally(error); }

        Engine.Result get() throws Exception {
            return result.get(2, TimeUnit.MINUTES);
        }
    }

    @Test
    void waitingJobsDecodeInOneBatchedStepAndASessionsJobsKeepTheirOrder() throws Exception {
        LanguageModel lm = Models.of("full");
        var metrics = new Metrics();
        try (var store = new SessionStore(lm, dir, 8); var engine = new Engine(lm, store, metrics)) {
            store.put("a", lm.session().feed("first document"), false);
            var hold = new CountDownLatch(1);
            engine.run(Set.of(), () -> {
                hold.await();
                return null;
            });
            List<Outcome> others = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                var o = new Outcome();
                others.add(o);
                engine.submit(new Engine.Job(null, false, lm.encode("prompt " + i), SamplingOptions.greedy(10), null, o));
            }
            var a1 = new Outcome();
            var a2 = new Outcome();
            engine.submit(new Engine.Job("a", false, lm.encode(" one"), SamplingOptions.greedy(6), null, a1));
            engine.submit(new Engine.Job("a", false, lm.encode(" two"), SamplingOptions.greedy(6), null, a2));
            hold.countDown();

            for (int i = 0; i < 4; i++) {
                String alone = lm.session().generate("prompt " + i, SamplingOptions.greedy(10), null).text();
                assertEquals(alone, others.get(i).get().text(), "job " + i);
                assertEquals(alone, others.get(i).text().toString());
            }
            Session ref = lm.session().feed("first document");
            assertEquals(ref.generate(" one", SamplingOptions.greedy(6), null).text(), a1.get().text());
            assertEquals(ref.position(), a1.get().position());
            assertEquals(ref.generate(" two", SamplingOptions.greedy(6), null).text(), a2.get().text());
            assertEquals(ref.position(), a2.get().position(), "the second job continued after the first");

            String m = metrics.prometheus();
            long tokens = Long.parseLong(m.replaceAll("(?s).*\nttt4j_decode_tokens_total (\\d+)\n.*", "$1"));
            long steps = Long.parseLong(m.replaceAll("(?s).*\nttt4j_decode_steps_total (\\d+)\n.*", "$1"));
            // 4 x 9 tokens read after a pick (the last needs none without a session) + 2 x 6 for the session:
            assertEquals(4 * 9 + 2 * 6, tokens, m);
            assertTrue(steps <= 9 + 6, "the five jobs shared their steps: " + steps + " steps for " + tokens + " tokens");
        }
    }

    @Test
    void aFailedJobLeavesItsSessionOnDiskAsItWas() throws Exception {
        LanguageModel lm = Models.of("full");
        try (var store = new SessionStore(lm, dir, 8); var engine = new Engine(lm, store, new Metrics())) {
            store.put("a", lm.session().feed("doc"), false);
            var bad = new Outcome();
            // An id outside the vocabulary fails the read after the session was taken.
            engine.submit(new Engine.Job("a", false, new int[] {1, lm.config().vocabSize() + 5}, SamplingOptions.greedy(4), null, bad));
            var e = assertThrows(java.util.concurrent.ExecutionException.class, bad::get);
            assertInstanceOf(IllegalArgumentException.class, e.getCause());
            assertEquals(3, store.info("a").position());
            var ok = new Outcome();
            engine.submit(new Engine.Job("a", false, lm.encode("!"), SamplingOptions.greedy(4), null, ok));
            assertEquals(lm.session().feed("doc").generate("!", SamplingOptions.greedy(4), null).text(), ok.get().text());
        }
    }
}
