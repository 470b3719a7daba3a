package org.ttt4j.lm.methods.qttt;

import org.ttt4j.lm.methods.Method;

/**
 * qTTT (docs/methods.md section 4): at inference, read the prompt once keeping every layer's keys
 * and values, then take AdamW steps on the query projections only, over spans of the prompt scored
 * against that frozen cache ({@link QtttSession}, {@link QtttOptions}). Builds nothing into a
 * model and trains nothing: it applies to any model whose blocks are all attention.
 */
public final class QtttMethod implements Method {
    @Override public String name() { return "qttt"; }
    @Override public String title() { return "qTTT"; }
    @Override public String summary() { return "query-only gradient steps on the prompt over a frozen KV cache, before answering"; }
}
