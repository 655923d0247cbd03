package org.loraquant.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
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
    // Sorted and compared: AssertJ's any-order comparison is quadratic in the number of layers.
    List<LayerWork> expected = new ArrayList<>(layers);
    expected.sort(LayerPlanner.FILE_ORDER);
    planned.sort(LayerPlanner.FILE_ORDER);
    assertThat(planned).isEqualTo(expected);
  }

  /** Scope adapter's packed plan: no adapter cut, small ones several to a task, balanced. */
  @Test
  void planWholeAdaptersCutsNoAdapterAndPacksSmallOnesTogether() {
    List<LayerWork> layers = fleetWithOneGiant();
    List<LayerTask> tasks =
        new LayerPlanner(6, 10_000, Long.MAX_VALUE, LayerPlanner.DEFAULT_MIN_PIECE_BYTES)
            .planWholeAdapters(layers);

    assertEveryLayerOnce(layers, tasks);
    assertThat(tasks).hasSize(6); // not 31, as one task per adapter
    Map<String, Long> tasksOfAdapter = new TreeMap<>();
    for (LayerTask task : tasks) {
      task.layers().stream()
          .map(LayerWork::adapter)
          .distinct()
          .forEach(a -> tasksOfAdapter.merge(a, 1L, Long::sum));
      List<LayerWork> inFileOrder = new ArrayList<>(task.layers());
      inFileOrder.sort(LayerPlanner.FILE_ORDER);
      assertThat(task.layers()).isEqualTo(inFileOrder);
    }
    assertThat(tasksOfAdapter).hasSize(31).allSatisfy((adapter, count) -> assertThat(count).isOne());
    // The giant (3.2 GB) alone; the 30 small ones (about 64 MB each) six a task over the others.
    LayerTask giant =
        tasks.stream().filter(t -> t.layers().get(0).adapter().equals("giant")).findFirst()
            .orElseThrow();
    assertThat(giant.layers()).hasSize(224);
    assertThat(tasks.stream().filter(t -> t != giant))
        .allSatisfy(t -> assertThat(t.layers().size() / 64).isEqualTo(6));

    // Over a task's bounds an adapter is still whole, alone in its task.
    List<LayerTask> bounded =
        new LayerPlanner(6, 100, 70_000_000L, LayerPlanner.DEFAULT_MIN_PIECE_BYTES)
            .planWholeAdapters(layers);
    assertEveryLayerOnce(layers, bounded);
    assertThat(bounded).hasSize(31);
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
    // One task per adapter would make the giant's task 50x the others; here none is above 1.25x
    // the mean (whole small adapters of 1/3.3 of a fair share make up the rest).
    assertThat(largest).isLessThan((long) (1.25 * mean));
    // The giant is shared out over many tasks, each small adapter stays whole.
    long tasksWithGiant =
        tasks.stream()
            .filter(t -> t.layers().stream().anyMatch(l -> l.adapter().equals("giant")))
            .count();
    assertThat(tasksWithGiant).isGreaterThanOrEqualTo(15);
    assertThat(tasksOf(tasks, "small-7")).isEqualTo(1);
  }

  /** The issue-17 case: thousands of equal adapters, each read whole by one task. */
  @Test
  void equalAdaptersStayWholeAndArePackedSeveralToATask() {
    List<LayerWork> layers = new ArrayList<>();
    for (int a = 0; a < 1000; a++) {
      for (int l = 0; l < 64; l++) {
        // 64 q/v layers of a rank-16 llama2-7b adapter in BF16, in file order.
        layers.add(new LayerWork(String.format("adapter-%04d", a), "layers." + l, 262_144, l));
      }
    }
    List<LayerTask> tasks = new LayerPlanner(24, 256, 256L << 20).plan(layers);

    assertEveryLayerOnce(layers, tasks);
    for (int a = 0; a < 1000; a += 37) {
      assertThat(tasksOf(tasks, String.format("adapter-%04d", a))).isEqualTo(1);
    }
    // 64-layer adapters, 4 to a task under the 256-layer bound: 250 equal tasks (the old planner
    // made 1000 tasks of 64 layers from 64 different adapters each).
    assertThat(tasks).hasSize(250);
    assertThat(tasks)
        .allMatch(t -> t.layers().stream().map(LayerWork::adapter).distinct().count() == 4);
  }

  /** 200 tiny adapters (the benchmark's fleet b) planned for a cluster of 80 cores. */
  @Test
  void aSmallFleetIsNeitherCutNorSpreadOverMoreTasksThanItsBytesWarrant() {
    List<LayerWork> layers = new ArrayList<>();
    for (int a = 0; a < 200; a++) {
      for (int l = 0; l < 14; l++) {
        layers.add(new LayerWork(String.format("tiny-%03d", a), "layers." + l, 10_752, l));
      }
    }
    long minPiece = LayerPlanner.DEFAULT_MIN_PIECE_BYTES;

    List<LayerTask> tasks = new LayerPlanner(240, 256, 256L << 20, minPiece).plan(layers);

    assertEveryLayerOnce(layers, tasks);
    for (int a = 0; a < 200; a++) {
      assertThat(tasksOf(tasks, String.format("tiny-%03d", a))).isEqualTo(1);
    }
    // 30 MB make 8 pieces' worth, but the 256-layer bound takes 18 whole 14-layer adapters to a
    // task: 12 tasks. The fair share of 240 tasks (125 KB) would cut every adapter in two.
    assertThat(tasks).hasSize(12);
    assertThat(new LayerPlanner(240, 256, 256L << 20).plan(layers)).hasSize(240);
  }

  @Test
  void theMinimumPieceStillYieldsToTheByteBoundAndSpreadsBigAdapters() {
    List<LayerWork> layers = fleetWithOneGiant(); // 5 GB: the minimum changes nothing here
    assertThat(new LayerPlanner(24, 10_000, Long.MAX_VALUE, 4L << 20).plan(layers))
        .isEqualTo(new LayerPlanner(24, 10_000, Long.MAX_VALUE).plan(layers));
    List<LayerWork> one = new ArrayList<>();
    for (int l = 0; l < 10; l++) {
      one.add(new LayerWork("a", "layers." + l, 1_000, l));
    }
    // A byte bound below the minimum piece still cuts.
    assertThat(new LayerPlanner(1, 100, 3_000, 1 << 20).plan(one)).hasSize(4);
  }

  @Test
  void anAdapterTooBigForOneTaskIsCutIntoContiguousRunsOfItsFileOrder() {
    List<LayerWork> layers = new ArrayList<>();
    // File order differs from name order: positions count down as names count up.
    for (int l = 0; l < 100; l++) {
      layers.add(new LayerWork("big", String.format("m%03d", l), 1_000, (100 - l) * 2_000L));
    }
    for (int a = 0; a < 10; a++) {
      layers.add(new LayerWork("small-" + a, "m", 5_000, 0));
    }
    List<LayerTask> tasks = new LayerPlanner(6, 1_000, 1_000_000).plan(layers);

    assertEveryLayerOnce(layers, tasks);
    List<LayerWork> inFileOrder = new ArrayList<>(layers.subList(0, 100));
    Collections.reverse(inFileOrder);
    int cut = 0;
    int runs = 0;
    for (LayerTask task : tasks) {
      List<LayerWork> ofBig =
          task.layers().stream().filter(l -> l.adapter().equals("big")).toList();
      if (!ofBig.isEmpty()) {
        // Each task's share of the adapter is one run of consecutive layers in file order.
        int start = inFileOrder.indexOf(ofBig.get(0));
        assertThat(ofBig).isEqualTo(inFileOrder.subList(start, start + ofBig.size()));
        cut += ofBig.size();
        runs++;
      }
    }
    assertThat(cut).isEqualTo(100);
    // 150 kB in all over 6 tasks: a fair share is 25 kB, so the 100 kB adapter makes 4 runs.
    assertThat(runs).isEqualTo(4);
  }

  @Test
  void tooManyLayersForOneTaskAlsoCutsAnAdapter() {
    List<LayerWork> layers = new ArrayList<>();
    for (int l = 0; l < 10; l++) {
      layers.add(new LayerWork("a", "m" + l, 1, l));
    }
    List<LayerTask> tasks = new LayerPlanner(1, 4, Long.MAX_VALUE).plan(layers);

    assertEveryLayerOnce(layers, tasks);
    assertThat(tasks).allMatch(t -> t.layers().size() <= 4);
    assertThat(tasks).hasSize(3);
  }

  private static long tasksOf(List<LayerTask> tasks, String adapter) {
    return tasks.stream()
        .filter(t -> t.layers().stream().anyMatch(l -> l.adapter().equals(adapter)))
        .count();
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

  /**
   * 200 small adapters read whole (about 150 KB each, one entry each) beside two opened adapters:
   * the small ones are packed several to a task by their file length, never cut, and the tasks
   * stay balanced by bytes.
   */
  @Test
  void smallAdaptersReadWholeArePackedSeveralToATaskByTheirFileLength() {
    List<LayerWork> work = new ArrayList<>();
    Random random = new Random(5);
    for (int a = 0; a < 200; a++) {
      work.add(LayerWork.wholeAdapter("tiny-" + a, 140_000 + random.nextInt(20_000)));
    }
    for (int l = 0; l < 64; l++) {
      work.add(new LayerWork("opened-0", "layers." + l, 200_000, l * 200_000L));
      work.add(new LayerWork("opened-1", "layers." + l, 100_000, l * 100_000L));
    }
    long total = work.stream().mapToLong(LayerWork::bytes).sum();

    List<LayerTask> tasks =
        new LayerPlanner(12, 256, 256L << 20, LayerPlanner.DEFAULT_MIN_PIECE_BYTES).plan(work);

    assertEveryLayerOnce(work, tasks);
    // About 49 MB in pieces of at least 4 MiB: a dozen tasks, not one per small adapter.
    assertThat(tasks).hasSize((int) ((total + LayerPlanner.DEFAULT_MIN_PIECE_BYTES - 1)
        / LayerPlanner.DEFAULT_MIN_PIECE_BYTES));
    for (LayerTask task : tasks) {
      assertThat(task.layers().stream().filter(LayerWork::isWholeAdapter).count())
          .as("small adapters in task %d", task.id())
          .isGreaterThan(1);
      assertThat(task.bytes()).isLessThanOrEqualTo(total / tasks.size() * 4 / 3);
    }
  }
}
