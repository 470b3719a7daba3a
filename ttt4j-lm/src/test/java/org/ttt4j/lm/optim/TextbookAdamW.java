package org.ttt4j.lm.optim;

/**
 * AdamW as the papers write it, in double, for one parameter: Kingma and Ba's moments with bias
 * correction and Loshchilov and Hutter's decoupled weight decay,
 *
 * <pre>
 *   m = b1 m + (1 - b1) g          mhat = m / (1 - b1^t)
 *   v = b2 v + (1 - b2) g^2        vhat = v / (1 - b2^t)
 *   w = w (1 - lr wd) - lr mhat / (sqrt(vhat) + eps)
 * </pre>
 *
 * with the decay left out for a parameter that is not {@code decayed}. The reference the tests
 * hold {@link AdamW} and the loops that use it against; it calls nothing of ttt4j.
 */
public final class TextbookAdamW {
    private final double beta1, beta2, eps, weightDecay;
    private final boolean decayed;
    private final double[] w, m, v;
    private int t;

    public TextbookAdamW(double[] initial, double beta1, double beta2, double eps, double weightDecay, boolean decayed) {
        this.w = initial.clone();
        this.m = new double[initial.length];
        this.v = new double[initial.length];
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.decayed = decayed;
    }

    /** One update with gradient {@code g} and learning rate {@code lr}. */
    public void step(double[] g, double lr) {
        if (g.length != w.length) throw new IllegalArgumentException(g.length + " gradients for " + w.length + " weights");
        t++;
        double decay = decayed ? 1 - lr * weightDecay : 1;
        for (int i = 0; i < w.length; i++) {
            m[i] = beta1 * m[i] + (1 - beta1) * g[i];
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
            double mHat = m[i] / (1 - Math.pow(beta1, t));
            double vHat = v[i] / (1 - Math.pow(beta2, t));
            w[i] = w[i] * decay - lr * mHat / (Math.sqrt(vHat) + eps);
        }
    }

    public double[] weights() {
        return w.clone();
    }

    public double[] firstMoment() {
        return m.clone();
    }

    public double[] secondMoment() {
        return v.clone();
    }
}
