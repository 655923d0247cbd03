package org.loraquant.codec;

import java.util.List;

/**
 * The precision tiers of one layer, in component order: k components, the first h in the high
 * tier. Made by {@link CodecSettings#tierPlan(double[])}.
 */
public record TierPlan(int k, int h, List<TierSpec> tiers) {
  public TierPlan {
    tiers = List.copyOf(tiers);
  }
}
