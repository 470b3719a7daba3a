package org.ttt4j.lm.model;

import java.util.List;
import java.util.regex.Pattern;

/**
 * The PyTorch TTT reference's parameter names (docs/methods.md, section 2), which ttt4j's TTT blocks
 * use as they are, with the reference's shapes: a checkpoint converted from it (its state dict
 * saved as safetensors) loads without renaming. Attention blocks use Hugging Face Llama names and
 * the optional sandwich norms ({@code post_norm}) have no counterpart in that reference.
 */
public final class ReferenceNames {
    private ReferenceNames() {}

    private static final List<Pattern> REFERENCE = List.of(
            Pattern.compile("model\\.embed_tokens\\.weight"),
            Pattern.compile("model\\.norm\\.weight"),
            Pattern.compile("lm_head\\.weight"),
            Pattern.compile("model\\.layers\\.\\d+\\.(seq_norm|ffn_norm)\\.weight"),
            Pattern.compile("model\\.layers\\.\\d+\\.mlp\\.(gate_proj|up_proj|down_proj)\\.weight"),
            Pattern.compile("model\\.layers\\.\\d+\\.conv\\.(norm\\.weight|conv\\.weight|conv\\.bias)"),
            Pattern.compile("model\\.layers\\.\\d+\\.seq_modeling_block\\.((q|k|v|o|g)_proj\\.weight|conv_(q|k)\\.(weight|bias)"
                    + "|W1|b1|W2|b2|ttt_norm_weight|ttt_norm_bias|learnable_ttt_lr_weight|learnable_ttt_lr_bias"
                    + "|learnable_token_idx|post_norm\\.(weight|bias))"));

    /** The reference's name for this parameter (the same string), or null when the reference has none. */
    public static String reference(String name) {
        for (Pattern p : REFERENCE) if (p.matcher(name).matches()) return name;
        return null;
    }
}
