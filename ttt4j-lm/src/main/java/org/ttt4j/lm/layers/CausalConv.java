package org.ttt4j.lm.layers;

import static org.ttt4j.core.ops.Arith.add;
import static org.ttt4j.core.ops.Arith.mul;

import java.util.List;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.tensor.Tensor;

/**
 * Depthwise causal convolution over time with bias, as torch.nn.Conv1d(groups = channels,
 * padding = width - 1) cut to the input length: {@code y[t] = sum_w W[c, 0, w] x[t - width + 1 + w] + b[c]}.
 * The weight is stored [channels, 1, width] like torch. {@code history} holds the last width - 1
 * inputs before this chunk (zeros at the start of a sequence), which is what decoding carries.
 */
public record CausalConv(Tensor weight, Tensor bias) {

    /** torch's default initialisation (the reference keeps it): uniform(+-1/sqrt(width)) for weight and bias. */
    public static CausalConv create(Params p, String name, int channels, int width) {
        double bound = 1 / Math.sqrt(width);
        return new CausalConv(p.uniform(name + ".weight", bound, channels, 1, width), p.uniform(name + ".bias", bound, channels));
    }

    public int width() {
        return weight.dim(2);
    }

    /**
     * One token on arrays, channels [c0, c1): {@code y[yo + c]} = the output for the input
     * {@code x[xo + c]} after {@code history} [width - 1, C] (oldest first; zeros at the start of a
     * sequence), summed in the order of {@link #apply}. The history is left as it is
     * ({@link #advance}). fp32 weights only.
     */
    public void output(float[] x, int xo, float[] history, float[] y, int yo, int c0, int c1) {
        int channels = weight.dim(0), taps = width();
        float[] w = weight.f32(), b = bias.f32();
        int wo = weight.offset(), bo = bias.offset();
        for (int ch = c0; ch < c1; ch++) {
            int row = wo + ch * taps;
            float in = x[xo + ch];
            float acc = (taps > 1 ? history[ch] : in) * w[row];
            for (int t = 1; t < taps; t++) acc += (t < taps - 1 ? history[t * channels + ch] : in) * w[row + t];
            y[yo + ch] = acc + b[bo + ch];
        }
    }

    /** Channels [c0, c1) of {@code history} [width - 1, C] move on by one input {@code x[xo + c]}. */
    public void advance(float[] x, int xo, float[] history, int c0, int c1) {
        int channels = weight.dim(0), rows = width() - 1;
        if (rows == 0) return;
        for (int ch = c0; ch < c1; ch++) {
            for (int t = 0; t + 1 < rows; t++) history[t * channels + ch] = history[(t + 1) * channels + ch];
            history[(rows - 1) * channels + ch] = x[xo + ch];
        }
    }

    /** The output for x [B, T, C] and the history for the next chunk. */
    public record Output(Tensor y, Tensor history) {}

    /** x [B, T, C] after {@code history} [B, width - 1, C] (null: zeros). */
    public Output apply(Tensor x, Tensor history) {
        int b = x.dim(0), t = x.dim(1), c = x.dim(2), k = width();
        if (c != weight.dim(0)) throw new IllegalArgumentException("conv: input has " + c + " channels, weight " + weight.dim(0));
        if (history == null) history = Tensor.zeros(x.dtype(), b, k - 1, c);
        Tensor padded = k > 1 ? Layout.concat(List.of(history, x), 1) : x;
        Tensor y = null;
        for (int w = 0; w < k; w++) {
            Tensor tap = Layout.reshape(Layout.slice(weight, 2, w, w + 1), c);
            Tensor term = mul(Layout.slice(padded, 1, w, w + t), tap);
            y = y == null ? term : add(y, term);
        }
        return new Output(add(y, bias), Layout.slice(padded, 1, t, t + k - 1));
    }
}
