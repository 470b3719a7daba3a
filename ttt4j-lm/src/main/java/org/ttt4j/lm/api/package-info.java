/**
 * The library's entry point: open a model, tokenize, score, generate, and keep reading state in sessions.
 *
 * <pre>{@code
 * LanguageModel lm = LanguageModel.demo();                  // or LanguageModel.open(Path.of("runs/demo"))
 * int[] ids = lm.encode("public static void main");         // lm.decode(ids) gives the text back
 * Score s = lm.score("int max(int a, int b) { return a > b ? a : b; }");
 * System.out.printf("%s: %.3f nats/token%n", lm.method(), s.mean());
 * lm.generate("public int size()", SamplingOptions.greedy(40), System.out::print);
 * Session session = lm.session().feed(Files.readString(Path.of("Long.java")));  // learns while reading (TTT)
 * session.save(Path.of("long.state"));                      // atomic; lm.loadSession(...) continues it
 * Session other = session.fork();                           // an independent copy of the state
 * String next = session.generate("\n", SamplingOptions.greedy(60), null).text();
 * }</pre>
 *
 * <p>{@link org.ttt4j.lm.api.LanguageModel} opens run, checkpoint and exported model folders;
 * {@link org.ttt4j.lm.api.Session} chooses the state by the model's method (KV caches for
 * attention, fast weights for TTT layers, prime weights and windows for TTT-E2E). Run the JVM with
 * {@code --add-modules jdk.incubator.vector}.
 */
package org.ttt4j.lm.api;
