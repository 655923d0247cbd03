/**
 * The run lock: a lease that keeps two runs of the nightly job from writing the same output or
 * stats root at once (README, "What a rerun does"; docs/STATS.md, "Writers and readers").
 *
 * <p>The decisions live here, without an engine: what a lease records ({@link Lease}), when it
 * has expired and may be taken over, and the acquire / renew / release protocol ({@link RunLock})
 * over a small store of lease files ({@link LeaseStore}: {@link LocalLeaseStore} here, the Hadoop
 * one in jobs/).
 */
package org.loraquant.lock;
