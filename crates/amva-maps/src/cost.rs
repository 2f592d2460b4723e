//! What a map run costs on a cluster: wall time and core-hours of `amva maps --shard i/n`
//! over N images on k nodes of c cores, plus the final `amva merge`, from figures
//! measured on one machine (`amva bench scale`). Pure arithmetic, no I/O.
//!
//! The model: a shard task with t threads processes its images at `rate` images/s (the
//! rate measured with every core of the machine busy with such tasks), after a fixed
//! start-up (process, model load, plan build) and a listing of the whole image set
//! (every shard lists, sorts and hashes all N ids to take its share). A node of c cores
//! runs c / t tasks at once; the shards run in waves; the merge runs once at the end.
//!
//! ```
//! use amva_maps::cost::{project, Cluster, ShardCost};
//! let m = ShardCost { threads: 2, rate: 0.5, fixed_secs: 2.0, list_secs_per_image: 0.0,
//!     merge_secs: 0.1, merge_secs_per_shard: 0.01, merge_secs_per_image: 0.0 };
//! let p = project(&m, 1000, Cluster { nodes: 1, cores: 2 }, None);
//! assert_eq!(p.shards, 1);
//! assert!((p.wall_secs - (2.0 + 2000.0 + 0.1 + 0.01)).abs() < 1e-9);
//! ```

use serde::Serialize;

/// Measured costs of one shard task configuration (one method, one thread count).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ShardCost {
    /// Threads of one task (`--cpus-per-task`).
    pub threads: usize,
    /// Images/s of one task while the node's cores are all busy with such tasks.
    pub rate: f64,
    /// Seconds a task pays once: process start, model load, plan build.
    pub fixed_secs: f64,
    /// Seconds per image of the set that every task pays to list, sort and hash it.
    pub list_secs_per_image: f64,
    /// Seconds `amva merge` spends once (process start, output files).
    pub merge_secs: f64,
    /// Seconds `amva merge` spends per shard.
    pub merge_secs_per_shard: f64,
    /// Seconds `amva merge` spends per image.
    pub merge_secs_per_image: f64,
}

/// k nodes of c cores each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cluster {
    pub nodes: usize,
    pub cores: usize,
}

/// The projected cost of one run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Projection {
    /// Shards (array tasks).
    pub shards: usize,
    /// Tasks running at once over the cluster.
    pub slots: usize,
    /// Seconds of one task (the largest shard).
    pub task_secs: f64,
    /// Seconds from submission to merged store (waves of tasks, then the merge).
    pub wall_secs: f64,
    /// Core-hours billed: every task's cores for its duration, plus the merge's one core.
    pub core_hours: f64,
}

/// Projects `images` images on `cluster` with `cost`'s task configuration. `shards`
/// defaults to one task per slot (a single wave), never more shards than images.
pub fn project(
    cost: &ShardCost,
    images: u64,
    cluster: Cluster,
    shards: Option<usize>,
) -> Projection {
    let per_node = (cluster.cores / cost.threads.max(1)).max(1);
    let slots = cluster.nodes.max(1) * per_node;
    let shards = shards.unwrap_or(slots).clamp(1, images.max(1) as usize);
    let n = images as f64;
    let biggest = images.div_ceil(shards as u64) as f64;
    let start = cost.fixed_secs + n * cost.list_secs_per_image;
    let task_secs = start + biggest / cost.rate;
    let waves = shards.div_ceil(slots) as f64;
    let merge =
        cost.merge_secs + shards as f64 * cost.merge_secs_per_shard + n * cost.merge_secs_per_image;
    // Billed: each task's own share (not the largest), its threads, and the merge's core.
    let task_core_secs = (shards as f64 * start + n / cost.rate) * cost.threads as f64;
    Projection {
        shards,
        slots,
        task_secs,
        wall_secs: waves * task_secs + merge,
        core_hours: (task_core_secs + merge) / 3600.0,
    }
}

/// "3 d 4 h", "5 h 12 min", "7 min", "42 s": a duration at a glance.
pub fn human_secs(s: f64) -> String {
    let s = s.max(0.0);
    let (d, h, m) = (s / 86400.0, s / 3600.0, s / 60.0);
    if d >= 1.0 {
        format!("{} d {} h", d.floor(), (h % 24.0).floor())
    } else if h >= 1.0 {
        format!("{} h {} min", h.floor(), (m % 60.0).floor())
    } else if m >= 1.0 {
        format!("{} min", m.round())
    } else {
        format!("{s:.0} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(threads: usize) -> ShardCost {
        ShardCost {
            threads,
            rate: 0.25,
            fixed_secs: 3.0,
            list_secs_per_image: 1e-6,
            merge_secs: 0.3,
            merge_secs_per_shard: 0.02,
            merge_secs_per_image: 1e-5,
        }
    }

    /// A direct simulation: tasks dealt to slots in waves, each as long as its share.
    fn simulate(c: &ShardCost, images: u64, cl: Cluster, shards: usize) -> (f64, f64) {
        let slots = cl.nodes * (cl.cores / c.threads);
        let mut finish = vec![0.0f64; slots];
        let mut core_secs = 0.0;
        for s in 0..shards as u64 {
            // --shard i/n takes every n-th image from the i-th: sizes differ by at most 1.
            let size = (s..images).step_by(shards).count() as f64;
            let t = c.fixed_secs + images as f64 * c.list_secs_per_image + size / c.rate;
            let slot = (s as usize) % slots;
            finish[slot] += t;
            core_secs += t * c.threads as f64;
        }
        let merge = c.merge_secs
            + shards as f64 * c.merge_secs_per_shard
            + images as f64 * c.merge_secs_per_image;
        let wall = finish.iter().cloned().fold(0.0, f64::max) + merge;
        (wall, (core_secs + merge) / 3600.0)
    }

    #[test]
    fn projection_matches_a_direct_simulation() {
        for (images, nodes, cores, threads) in [
            (1000u64, 1, 2, 1),
            (1000, 1, 2, 2),
            (100_000, 10, 32, 2),
            (999, 3, 8, 1),
            (7, 4, 4, 1),
        ] {
            let cl = Cluster { nodes, cores };
            let c = cost(threads);
            let p = project(&c, images, cl, None);
            let (wall, ch) = simulate(&c, images, cl, p.shards);
            assert!((p.wall_secs - wall).abs() < 1e-6 * wall, "{p:?} vs {wall}");
            assert!(
                (p.core_hours - ch).abs() < 1e-9 + 1e-9 * ch,
                "{p:?} vs {ch}"
            );
        }
    }

    #[test]
    fn more_nodes_cut_wall_time_not_core_hours_of_the_work() {
        let c = cost(2);
        let one = project(
            &c,
            1_000_000,
            Cluster {
                nodes: 1,
                cores: 32,
            },
            None,
        );
        let ten = project(
            &c,
            1_000_000,
            Cluster {
                nodes: 10,
                cores: 32,
            },
            None,
        );
        assert!(ten.wall_secs < one.wall_secs / 9.0);
        // Only the per-task start-up grows with the number of tasks.
        let extra = (ten.shards - one.shards) as f64 * (c.fixed_secs + 1.0) * 2.0 / 3600.0;
        assert!(
            (ten.core_hours - one.core_hours - extra).abs() < 0.01,
            "{one:?} {ten:?}"
        );
    }

    #[test]
    fn more_shards_than_slots_run_in_waves() {
        let c = cost(1);
        let p = project(&c, 1000, Cluster { nodes: 1, cores: 2 }, Some(8));
        assert_eq!((p.shards, p.slots), (8, 2));
        let one_wave = project(&c, 1000, Cluster { nodes: 1, cores: 2 }, None);
        assert!(
            p.wall_secs > one_wave.wall_secs,
            "extra start-ups cost time"
        );
    }

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(human_secs(42.0), "42 s");
        assert_eq!(human_secs(420.0), "7 min");
        assert_eq!(human_secs(5.0 * 3600.0 + 12.0 * 60.0 + 5.0), "5 h 12 min");
        assert_eq!(human_secs(3.0 * 86400.0 + 4.5 * 3600.0), "3 d 4 h");
    }
}
