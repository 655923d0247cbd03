package org.loraquant.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.loraquant.errors.FleetBudgetTooSmallException;

class FleetShareTest {
  private static final List<FleetShare.Member> FLEET = List.of(
      new FleetShare.Member("a", 1000, true, 1700),
      new FleetShare.Member("b", 2000, false, -1),
      new FleetShare.Member("c", 3000, true, 3900),
      new FleetShare.Member("d", 500, false, -1));

  @Test
  void unchangedAdaptersKeepTheirStoredBitsAndTheOthersShareWhatIsLeft() {
    FleetShare share = FleetShare.of(FLEET, 1.4, false);
    assertThat(share.params()).isEqualTo(6500);
    assertThat(share.budgetBits()).isEqualTo(9100);
    assertThat(share.storedBits()).isEqualTo(5600);
    assertThat(share.sharedBits()).isEqualTo(3500);
    assertThat(share.toCompress()).containsExactly("b", "d");
    assertThat(share.skipped()).containsExactly("a", "c");
  }

  @Test
  void forceReallocatesTheWholeFleet() {
    FleetShare share = FleetShare.of(FLEET, 1.4, true);
    assertThat(share.storedBits()).isZero();
    assertThat(share.sharedBits()).isEqualTo(9100);
    assertThat(share.toCompress()).containsExactly("a", "b", "c", "d");
    assertThat(share.skipped()).isEmpty();
  }

  @Test
  void theBudgetRoundsDownNeverUp() {
    FleetShare share = FleetShare.of(List.of(new FleetShare.Member("a", 3, false, -1)), 1.4, false);
    assertThat(share.budgetBits()).isEqualTo(4);
  }

  @Test
  void aBudgetTheUnchangedAdaptersAlreadyExceedIsRefusedSayingByHowMuch() {
    // 0.8 x 6500 = 5200 bits; a and c already store 5600.
    assertThatThrownBy(() -> FleetShare.of(FLEET, 0.8, false))
        .isInstanceOf(FleetBudgetTooSmallException.class)
        .hasMessage("fleet budget of 0.8 bits per parameter (5200 bits over 6500 parameters) is"
            + " 400 bits (0.0615 bits per parameter) below what the 2 unchanged adapters already"
            + " store (5600 bits); raise the budget or re-allocate the whole fleet with --force")
        .satisfies(e -> assertThat(((FleetBudgetTooSmallException) e).shortBits()).isEqualTo(400));
    assertThat(FleetShare.of(FLEET, 0.8, true).sharedBits()).isEqualTo(5200);
  }

  @Test
  void exactlyTheStoredBitsLeavesNothingToShare() {
    // 5600 / 6500 bits per parameter, floored back to 5600.
    FleetShare share = FleetShare.of(FLEET, 5600.0 / 6500, false);
    assertThat(share.sharedBits()).isZero();
  }

  @Test
  void whatIsLeftIsWhatTheAllocatorGetsForTheChangedAdapters() {
    List<FleetLayer> layers = GeneratedFleetTables.fleet(30, 4, 2, true);
    long params2 = 0;
    long storedBy01 = 0;
    for (FleetLayer l : layers) {
      if (l.adapter().equals("adapter-0") || l.adapter().equals("adapter-1")) {
        storedBy01 += (long) (1.5 * l.params()); // as if stored at 1.5 bits
      } else {
        params2 += l.params();
      }
    }
    long params01 = 0;
    for (FleetLayer l : layers) {
      params01 += l.adapter().equals("adapter-0") || l.adapter().equals("adapter-1") ? l.params() : 0;
    }
    FleetShare share = FleetShare.of(List.of(
        new FleetShare.Member("adapter-0+1", params01, true, storedBy01),
        new FleetShare.Member("adapter-2+3", params2, false, -1)), 2.0, false);
    List<FleetLayer> changed = layers.stream()
        .filter(l -> l.adapter().equals("adapter-2") || l.adapter().equals("adapter-3")).toList();
    FleetAllocation a = FleetAllocator.allocate(changed, share.sharedBits());
    assertThat(share.storedBits() + a.spentBits()).isLessThanOrEqualTo(share.budgetBits())
        .isGreaterThanOrEqualTo((long) (0.995 * share.budgetBits()));
  }

  /**
   * Adapters that failed before the allocation leave the fleet: their parameters leave the
   * budget, so the share is exactly that of the fleet without them, with or without --force.
   */
  @Test
  void failedAdaptersLeaveTheBudgetAsIfTheyWereNeverInTheFleet() {
    for (boolean force : new boolean[] {false, true}) {
      FleetShare share = FleetShare.of(FLEET, 1.4, force).without(List.of("d"), 1.4);
      FleetShare alone = FleetShare.of(FLEET.subList(0, 3), 1.4, force);
      assertThat(share.params()).isEqualTo(6000);
      assertThat(share.budgetBits()).isEqualTo(alone.budgetBits()).isEqualTo(8400);
      assertThat(share.storedBits()).isEqualTo(alone.storedBits());
      assertThat(share.sharedBits()).isEqualTo(alone.sharedBits());
      assertThat(share.toCompress()).isEqualTo(alone.toCompress()).doesNotContain("d");
      assertThat(share.skipped()).isEqualTo(alone.skipped());
      assertThat(share.leftOut()).containsExactly("d");
      assertThat(alone.leftOut()).isEmpty();
    }
    FleetShare share = FleetShare.of(FLEET, 1.4, false);
    assertThat(share.without(List.of(), 1.4)).isSameAs(share);
    assertThat(share.without(List.of("b"), 1.4).without(List.of("d"), 1.4).leftOut())
        .containsExactly("b", "d");
    // Only an adapter to compress can fail: a skipped one was not read.
    assertThatThrownBy(() -> share.without(List.of("a"), 1.4))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("a is not an adapter");
  }

  /** Without a failed adapter the skipped ones can store more than what is left of the budget. */
  @Test
  void aFailedAdapterCanLeaveTheSkippedOnesOverTheBudget() {
    // 1.0 x 6500 = 6500 holds a and c's 5600; without b, 1.0 x 4500 does not.
    FleetShare share = FleetShare.of(FLEET, 1.0, false);
    assertThat(share.sharedBits()).isEqualTo(900);
    assertThatThrownBy(() -> share.without(List.of("b"), 1.0))
        .isInstanceOf(FleetBudgetTooSmallException.class)
        .hasMessageContaining("(4500 bits over 4500 parameters) is 1100 bits");
    // With every adapter to compress failed nothing is allocated, and nothing refused.
    FleetShare none = share.without(List.of("b", "d"), 1.0);
    assertThat(none.toCompress()).isEmpty();
    assertThat(none.sharedBits()).isZero();
    assertThat(FleetAllocator.allocate(List.of(), none.sharedBits()).spentBits()).isZero();
  }
}
