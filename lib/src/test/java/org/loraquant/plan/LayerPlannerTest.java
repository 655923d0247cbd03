package org.loraquant.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LayerPlannerTest {

  /** 30 adapters of 64 layers of about 1 MB, and one adapter 50 times the size of each of them. */
  private static List<LayerWork> fleetWithOneGiant() {
    List<LayerWork> layers = new ArrayList<>();
    Random random = new Random(11);
    for (int a = 0; a < 30; a++) {
      for (int l = 0; l < 64; l++) {
        layers.add(new LayerWork("small-" + a, "layers." + l, 900_000 + random.nextInt(200_000)));
      }
    }
    for (int l = 0; l < 224; l++) {
      layers.add(new LayerWork("giant", "layers." + l, 50L * 64 * 1_000_000 / 224));
    }
    return layers;
  }

  private static void assertEveryLayerOnce(List<LayerWork> layers, List<LayerTask> tasks) {
    List<LayerWork> planned = new ArrayList<>();
    for (LayerTask t : tasks) {
      assertThat(t.layers()).isNotEmpty();
      assertThat(t.bytes()).isEqualTo(t.layers().stream().mapToLong(LayerWork::bytes).sum());
      planned.addAll(t.layers());
    }
    assertThat(planned).containsExactlyInAnyOrderElementsOf(layers);
  }

  @Test
  void oneAdapterFiftyTimesLargerCausesNoStraggler() {
    List<LayerWork> layers = fleetWithOneGiant();
    List<LayerTask> tasks = new LayerPlanner(24, 10_000, Long.MAX_VALUE).plan(layers);

    assertEveryLayerOnce(layers, tasks);
    assertThat(tasks).hasSize(24);
    long total = layers.stream().mapToLong(LayerWork::bytes).sum();
    double mean = (double) total / tasks.size();
    long largest = tasks.stream().mapToLong(LayerTask::bytes).max().orElseThrow();
    long smallest = tasks.stream().mapToLong(LayerTask::bytes).min().orElseThrow();
    // One task per adapter would make the giant's task 50x the others; here all are within 5%.
    assertThat(largest).isLessThan((long) (1.05 * mean));
    assertThat(smallest).isGreaterThan((long) (0.95 * mean));
    // The giant is shared out over many tasks.
    long tasksWithGiant =
        tasks.stream()
            .filter(t -> t.layers().stream().anyMatch(l -> l.adapter().equals("giant")))
            .count();
    assertThat(tasksWithGiant).isEqualTo(24);
  }

  @Test
  void taskNeverHoldsMoreThanTheLayerBound() {
    List<LayerWork> layers = fleetWithOneGiant();
    List<LayerTask> tasks = new LayerPlanner(4, 50, Long.MAX_VALUE).plan(layers);

    assertEveryLayerOnce(layers, tasks);
    assertThat(tasks).allMatch(t -> t.layers().size() <= 50);
    assertThat(tasks.size()).isGreaterThanOrEqualTo((layers.size() + 49) / 50);
  }

  @Test
  void taskStaysUnderTheByteBoundUnlessOneLayerExceedsIt() {
    List<LayerWork> layers = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      layers.add(new LayerWork("a", "m" + i, 300));
    }
    layers.add(new LayerWork("b", "huge", 5_000));
    List<LayerTask> tasks = new LayerPlanner(1, 1_000, 1_000).plan(layers);

    assertEveryLayerOnce(layers, tasks);
    for (LayerTask t : tasks) {
      if (t.layers().size() > 1) {
        assertThat(t.bytes()).isLessThanOrEqualTo(1_000);
      }
    }
    assertThat(tasks).anyMatch(t -> t.layers().equals(List.of(new LayerWork("b", "huge", 5_000))));
  }

  @Test
  void planDoesNotDependOnInputOrder() {
    List<LayerWork> layers = fleetWithOneGiant();
    List<LayerTask> expected = new LayerPlanner(7, 100, 500_000_000).plan(layers);
    Collections.shuffle(layers, new Random(3));
    assertThat(new LayerPlanner(7, 100, 500_000_000).plan(layers)).isEqualTo(expected);
  }

  @Test
  void layersWithinATaskAreGroupedByAdapterAndFewerLayersThanTasksGiveOneTaskEach() {
    List<LayerWork> layers =
        List.of(
            new LayerWork("b", "m1", 10),
            new LayerWork("a", "m2", 10),
            new LayerWork("a", "m1", 10));
    List<LayerTask> tasks = new LayerPlanner(10, 100, 1_000).plan(layers);
    assertThat(tasks).hasSize(3);
    assertThat(new LayerPlanner(1, 100, 1_000).plan(layers).get(0).layers())
        .extracting(l -> l.adapter() + "/" + l.module())
        .containsExactly("a/m1", "a/m2", "b/m1");
    assertThat(new LayerPlanner(3, 1, 1).plan(List.of())).isEmpty();
  }
}
