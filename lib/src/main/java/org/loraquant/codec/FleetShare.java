package org.loraquant.codec;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import org.loraquant.errors.FleetBudgetTooSmallException;

/**
 * The incremental rule of the fleet budget (docs/ALGORITHM.md, "Fleet budget"): the budget is B
 * bits per parameter over every adapter of the fleet, skipped or not. An unchanged adapter is
 * skipped and its stored bits count against the budget as they are; the new and changed adapters
 * share what is left. With {@code force} every adapter is re-allocated and nothing counts as
 * stored. A budget the skipped adapters already exceed is refused before any work.
 *
 * @param budgetBits floor(B x all parameters): the whole fleet's budget
 * @param storedBits bits the skipped adapters already store
 * @param sharedBits what the adapters to compress share: budgetBits - storedBits (0 when every
 *     adapter to compress failed and was left out, whatever the skipped adapters store)
 * @param toCompress the adapters to compress, in the given order
 * @param skipped the adapters kept as stored, in the given order
 * @param leftOut adapters to compress that failed before the allocation and left the fleet
 *     ({@link #without}); none at first
 * @param members the fleet the share was made over, {@code leftOut} excluded, each member
 *     unchanged exactly when it is skipped (so {@code force} is already applied)
 */
public record FleetShare(long budgetBits, long params, long storedBits, long sharedBits,
    List<String> toCompress, List<String> skipped, List<String> leftOut, List<Member> members) {

  /**
   * One adapter of the fleet: its parameters (sum of r (m + n)), whether it is unchanged since its
   * stored output (same input, same settings), and the bits that output's layer records store
   * (its tensor bits, the count {@link FleetLayer#storedBits} makes; ignored unless unchanged).
   */
  public record Member(String adapter, long params, boolean unchanged, long storedBits) {
    public Member {
      if (params < 0 || (unchanged && storedBits < 0)) {
        throw new IllegalArgumentException(adapter + ": " + params + " parameters, "
            + storedBits + " stored bits");
      }
    }
  }

  public FleetShare {
    toCompress = List.copyOf(toCompress);
    skipped = List.copyOf(skipped);
    leftOut = List.copyOf(leftOut);
    members = List.copyOf(members);
  }

  /**
   * @param budgetBitsPerParam B, the fleet's effective bits per parameter
   * @throws FleetBudgetTooSmallException if the skipped adapters already store more than the
   *     fleet's budget; its message says by how much and what to change
   */
  public static FleetShare of(List<Member> fleet, double budgetBitsPerParam, boolean force) {
    return of(fleet, budgetBitsPerParam, force, List.of());
  }

  /**
   * The share of the fleet without {@code failed}, adapters to compress that failed before the
   * allocation (a layer that could not be read or measured): they will not be written, so they
   * take no bits and their parameters leave the budget, which is then exactly the share of a run
   * over the other adapters alone.
   *
   * @throws FleetBudgetTooSmallException if the skipped adapters store more than the budget of
   *     what is left while some adapter is still to compress
   * @throws IllegalArgumentException if one of {@code failed} is not an adapter to compress
   */
  public FleetShare without(Collection<String> failed, double budgetBitsPerParam) {
    if (failed.isEmpty()) {
      return this;
    }
    List<String> gone = new ArrayList<>(leftOut);
    for (String adapter : failed) {
      if (!toCompress.contains(adapter)) {
        throw new IllegalArgumentException(
            adapter + " is not an adapter to compress of this share");
      }
      gone.add(adapter);
    }
    List<Member> kept = new ArrayList<>();
    for (Member m : members) {
      if (!failed.contains(m.adapter())) {
        kept.add(m);
      }
    }
    return of(kept, budgetBitsPerParam, false, gone);
  }

  private static FleetShare of(List<Member> fleet, double budgetBitsPerParam, boolean force,
      List<String> leftOut) {
    long params = 0;
    long stored = 0;
    List<String> toCompress = new ArrayList<>();
    List<String> skipped = new ArrayList<>();
    List<Member> members = new ArrayList<>();
    for (Member m : fleet) {
      params = Math.addExact(params, m.params());
      if (m.unchanged() && !force) {
        stored = Math.addExact(stored, m.storedBits());
        skipped.add(m.adapter());
        members.add(m);
      } else {
        toCompress.add(m.adapter());
        members.add(new Member(m.adapter(), m.params(), false, 0));
      }
    }
    long budget = (long) Math.floor(budgetBitsPerParam * params);
    if (stored > budget && toCompress.isEmpty() && !leftOut.isEmpty()) {
      // Every adapter to compress failed: nothing is allocated, so there is nothing to refuse.
      return new FleetShare(budget, params, stored, 0, toCompress, skipped, leftOut, members);
    }
    if (stored > budget) {
      long over = stored - budget;
      throw new FleetBudgetTooSmallException(String.format(Locale.ROOT,
          "fleet budget of %s bits per parameter (%d bits over %d parameters) is %d bits"
              + " (%.4f bits per parameter) below what the %d unchanged adapters already store"
              + " (%d bits); raise the budget or re-allocate the whole fleet with --force",
          java.math.BigDecimal.valueOf(budgetBitsPerParam).stripTrailingZeros().toPlainString(),
          budget, params, over, params == 0 ? 0.0 : (double) over / params, skipped.size(),
          stored), over);
    }
    return new FleetShare(budget, params, stored, budget - stored, toCompress, skipped, leftOut,
        members);
  }
}
