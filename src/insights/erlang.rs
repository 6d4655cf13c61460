//! Erlang C: the M/M/N queue that staffing of queued channels (PHONE, CHAT) is planned with.
//!
//! Pure functions of the offered load A (Erlangs = arrivals per second × average handle time)
//! and the number of agents N. The probability of waiting is computed from the Erlang B
//! recursion B(0) = 1, B(n) = A·B(n−1) / (n + A·B(n−1)), then C = N·B / (N − A(1 − B)). No
//! factorial or power is ever formed, so loads of several hundred or thousand Erlangs stay
//! finite and accurate (every intermediate value lies in [0, 1]).

/// The most agents [`agents_for_service_level`] will consider; a load needing more is refused.
pub const MAX_AGENTS: u32 = 1_000_000;

/// What a queue with a given number of agents is expected to deliver.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueueOutcome {
    /// Agents on the queue (N).
    pub agents: u32,
    /// Erlang C: the probability that an arriving contact has to wait.
    pub probability_of_waiting: f64,
    /// The fraction of contacts answered within the threshold.
    pub service_level: f64,
    /// The mean wait over all contacts, in seconds.
    pub average_speed_of_answer: f64,
    /// The fraction of agent time spent handling contacts (A ÷ N).
    pub occupancy: f64,
}

/// Erlang B: the probability that all `agents` are busy in a loss system offered `erlangs`.
pub fn erlang_b(agents: u32, erlangs: f64) -> f64 {
    let mut blocking = 1.0;
    for n in 1..=agents {
        blocking = next_erlang_b(n, erlangs, blocking);
    }
    blocking
}

/// One step of the Erlang B recursion: B(n) from B(n − 1).
fn next_erlang_b(n: u32, erlangs: f64, previous: f64) -> f64 {
    let offered = erlangs * previous;
    offered / (f64::from(n) + offered)
}

/// Erlang C from Erlang B for N agents; requires N > A.
fn erlang_c_from_b(agents: u32, erlangs: f64, blocking: f64) -> f64 {
    let n = f64::from(agents);
    // N − A(1 − B) is written as (N − A) + A·B: two non-negative terms, so no cancellation
    // when N is close to A.
    (n * blocking / ((n - erlangs) + erlangs * blocking)).clamp(0.0, 1.0)
}

/// Erlang C: the probability that a contact waits when `erlangs` are offered to `agents`.
/// With N ≤ A the queue grows without bound and every contact waits (1).
pub fn probability_of_waiting(agents: u32, erlangs: f64) -> f64 {
    if f64::from(agents) <= erlangs {
        return 1.0;
    }
    erlang_c_from_b(agents, erlangs, erlang_b(agents, erlangs))
}

/// SL(t) = 1 − C·exp(−(N − A)·t / AHT) given C: the fraction answered within `threshold_seconds`.
fn service_level_from_c(
    agents: u32,
    erlangs: f64,
    waiting: f64,
    average_handle_seconds: f64,
    threshold_seconds: f64,
) -> f64 {
    let spare = f64::from(agents) - erlangs;
    (1.0 - waiting * (-spare * threshold_seconds / average_handle_seconds).exp()).clamp(0.0, 1.0)
}

/// The fraction of contacts answered within `threshold_seconds`; 0 when N ≤ A (unstable queue).
pub fn service_level(
    agents: u32,
    erlangs: f64,
    average_handle_seconds: f64,
    threshold_seconds: f64,
) -> f64 {
    if f64::from(agents) <= erlangs {
        return 0.0;
    }
    let waiting = probability_of_waiting(agents, erlangs);
    service_level_from_c(
        agents,
        erlangs,
        waiting,
        average_handle_seconds,
        threshold_seconds,
    )
}

/// ASA = C·AHT / (N − A), the mean wait in seconds; `None` when N ≤ A (it is unbounded).
pub fn average_speed_of_answer(
    agents: u32,
    erlangs: f64,
    average_handle_seconds: f64,
) -> Option<f64> {
    let spare = f64::from(agents) - erlangs;
    (spare > 0.0).then(|| probability_of_waiting(agents, erlangs) * average_handle_seconds / spare)
}

/// Occupancy A ÷ N (at most 1: agents cannot be busier than always); `None` without agents.
pub fn occupancy(agents: u32, erlangs: f64) -> Option<f64> {
    (agents > 0).then(|| (erlangs / f64::from(agents)).min(1.0))
}

/// The fewest agents N > A whose service level at `threshold_seconds` reaches
/// `target_service_level`, with what that N delivers.
///
/// `None` when the inputs are out of range (A negative or not finite, AHT not positive,
/// threshold negative, target outside (0, 1)) or more than [`MAX_AGENTS`] would be needed.
/// With A = 0 one agent suffices (nobody ever waits); callers that want zero agents for zero
/// arrivals decide that themselves.
pub fn agents_for_service_level(
    erlangs: f64,
    average_handle_seconds: f64,
    threshold_seconds: f64,
    target_service_level: f64,
) -> Option<QueueOutcome> {
    let valid = erlangs.is_finite()
        && erlangs >= 0.0
        && average_handle_seconds.is_finite()
        && average_handle_seconds > 0.0
        && threshold_seconds.is_finite()
        && threshold_seconds >= 0.0
        && target_service_level > 0.0
        && target_service_level < 1.0;
    if !valid || erlangs >= f64::from(MAX_AGENTS) {
        return None;
    }
    // The smallest integer above A: below it the queue is unstable.
    let mut agents = erlangs.floor() as u32 + 1;
    let mut blocking = erlang_b(agents, erlangs);
    // Service level rises with every agent and tends to 1, so a target below 1 is reached;
    // the bound only guards against a target a hair below 1 that rounding keeps out of reach.
    while agents <= MAX_AGENTS {
        let waiting = erlang_c_from_b(agents, erlangs, blocking);
        let level = service_level_from_c(
            agents,
            erlangs,
            waiting,
            average_handle_seconds,
            threshold_seconds,
        );
        if level >= target_service_level {
            let spare = f64::from(agents) - erlangs;
            return Some(QueueOutcome {
                agents,
                probability_of_waiting: waiting,
                service_level: level,
                average_speed_of_answer: waiting * average_handle_seconds / spare,
                occupancy: erlangs / f64::from(agents),
            });
        }
        agents += 1;
        blocking = next_erlang_b(agents, erlangs, blocking);
    }
    None
}

#[cfg(test)]
mod tests {
    //! Reference values were computed independently of this module, in Python 3 with exact
    //! rational arithmetic (`fractions.Fraction`) and the textbook closed form with factorials:
    //!
    //! ```text
    //! C(N, A) = (A^N/N! · N/(N−A)) / (Σ_{k<N} A^k/k! + A^N/N! · N/(N−A))
    //! SL      = 1 − C·exp(−(N−A)·t/AHT)      (decimal.Decimal, 50 digits)
    //! ASA     = C·AHT/(N−A)
    //! ```
    //!
    //! and recorded here to 10 significant digits. The first block is the widely published
    //! call-centre example: 100 calls per 30 minutes with a 180-second AHT (A = 10 Erlangs) and
    //! an 80/20 target, met with 14 agents (13 give 79.6%). The tests require agreement to 4
    //! significant digits (relative error below 5·10⁻⁵).

    use super::*;

    /// Agreement to 4 significant digits.
    fn assert_four_digits(actual: f64, expected: f64, what: &str) {
        let relative = ((actual - expected) / expected).abs();
        assert!(
            relative < 5e-5,
            "{what}: expected {expected}, got {actual} (relative error {relative:e})"
        );
    }

    /// (A, AHT, t, N, C, SL(t), ASA) from the reference computation.
    const REFERENCE: &[(f64, f64, f64, u32, f64, f64, f64)] = &[
        // The published call-centre example: A = 100 calls / 1800 s × 180 s = 10.
        (
            10.0,
            180.0,
            20.0,
            11,
            0.6821182047,
            0.3896138117,
            122.7812768,
        ),
        (
            10.0,
            180.0,
            20.0,
            12,
            0.4493882243,
            0.6401580404,
            40.44494019,
        ),
        (
            10.0,
            180.0,
            20.0,
            13,
            0.285270453,
            0.7955947884,
            17.11622718,
        ),
        (
            10.0,
            180.0,
            20.0,
            14,
            0.1741319336,
            0.8883500192,
            7.835937012,
        ),
        (
            10.0,
            180.0,
            20.0,
            15,
            0.102042367,
            0.9414528429,
            3.673525212,
        ),
        (
            10.0,
            180.0,
            20.0,
            16,
            0.0573403309,
            0.9705604925,
            1.720209927,
        ),
        // Fractional loads.
        (2.5, 240.0, 30.0, 3, 0.702247191, 0.3402998154, 337.0786517),
        (2.5, 240.0, 30.0, 4, 0.3198567042, 0.7348294786, 51.17707267),
        (2.5, 240.0, 30.0, 5, 0.1303712975, 0.9046183212, 12.51564456),
        (2.5, 240.0, 30.0, 6, 0.04744481219, 0.9693673269, 3.25335855),
        (7.3, 240.0, 20.0, 8, 0.7359272312, 0.3057737543, 252.3179078),
        (
            7.3,
            240.0,
            20.0,
            11,
            0.1522634325,
            0.8881365651,
            9.876546972,
        ),
        // M/M/1 and M/M/2 with A = 0.5: C(1) = ρ = 0.5, C(2) = 0.1.
        (0.5, 100.0, 10.0, 1, 0.5, 0.5243852877, 100.0),
        (0.5, 100.0, 10.0, 2, 0.1, 0.9139292024, 6.666666667),
        // Medium and large loads.
        (
            50.0,
            300.0,
            20.0,
            52,
            0.6996140172,
            0.3877164785,
            104.9421026,
        ),
        (
            50.0,
            300.0,
            20.0,
            58,
            0.1944318236,
            0.8859373058,
            7.291193383,
        ),
        (
            400.0,
            300.0,
            20.0,
            405,
            0.7243920262,
            0.4809504321,
            43.46352157,
        ),
        (
            400.0,
            300.0,
            20.0,
            410,
            0.5102148578,
            0.7380469576,
            15.30644573,
        ),
        (
            400.0,
            300.0,
            20.0,
            420,
            0.2302854308,
            0.9392974195,
            3.454281462,
        ),
        (
            800.0,
            180.0,
            15.0,
            810,
            0.6274211663,
            0.7273238851,
            11.29358099,
        ),
        (
            800.0,
            180.0,
            15.0,
            820,
            0.3709958113,
            0.9299279425,
            3.338962301,
        ),
        (
            800.0,
            180.0,
            15.0,
            840,
            0.1053359768,
            0.9962422451,
            0.4740118956,
        ),
    ];

    #[test]
    fn erlang_c_matches_the_reference_values() {
        for &(erlangs, handle, threshold, agents, waiting, level, speed) in REFERENCE {
            let case = format!("A = {erlangs}, N = {agents}");
            assert_four_digits(
                probability_of_waiting(agents, erlangs),
                waiting,
                &format!("{case}: P(wait)"),
            );
            assert_four_digits(
                service_level(agents, erlangs, handle, threshold),
                level,
                &format!("{case}: SL({threshold} s)"),
            );
            assert_four_digits(
                average_speed_of_answer(agents, erlangs, handle).unwrap(),
                speed,
                &format!("{case}: ASA"),
            );
            assert_four_digits(
                occupancy(agents, erlangs).unwrap(),
                erlangs / f64::from(agents),
                &format!("{case}: occupancy"),
            );
        }
    }

    #[test]
    fn the_published_example_needs_fourteen_agents_for_80_20() {
        let outcome = agents_for_service_level(10.0, 180.0, 20.0, 0.8).unwrap();
        assert_eq!(outcome.agents, 14);
        assert_four_digits(outcome.probability_of_waiting, 0.1741319336, "P(wait)");
        assert_four_digits(outcome.service_level, 0.8883500192, "SL");
        assert_four_digits(outcome.average_speed_of_answer, 7.835937012, "ASA");
        assert_four_digits(outcome.occupancy, 10.0 / 14.0, "occupancy");
    }

    #[test]
    fn the_smallest_sufficient_agent_count_matches_the_reference() {
        // (A, AHT, t, target, N): the reference search over the exact SL gives these N.
        // Neighbours from the reference: A = 400: SL(411) = 0.7723513311, SL(412) = 0.8024097909;
        // A = 800: SL(817) = 0.8939585182, SL(818) = 0.9075761823; A = 2.5: SL(4) = 0.7348, SL(5) = 0.9046.
        for (erlangs, handle, threshold, target, expected) in [
            (10.0, 180.0, 20.0, 0.8, 14),
            (2.5, 240.0, 30.0, 0.8, 5),
            (400.0, 300.0, 20.0, 0.8, 412),
            (800.0, 180.0, 15.0, 0.9, 818),
        ] {
            let outcome = agents_for_service_level(erlangs, handle, threshold, target).unwrap();
            assert_eq!(outcome.agents, expected, "A = {erlangs}");
        }
        assert_four_digits(
            service_level(411, 400.0, 300.0, 20.0),
            0.7723513311,
            "SL(411)",
        );
        assert_four_digits(
            service_level(412, 400.0, 300.0, 20.0),
            0.8024097909,
            "SL(412)",
        );
        assert_four_digits(
            service_level(817, 800.0, 180.0, 15.0),
            0.8939585182,
            "SL(817)",
        );
        assert_four_digits(
            service_level(818, 800.0, 180.0, 15.0),
            0.9075761823,
            "SL(818)",
        );
    }

    #[test]
    fn large_loads_stay_finite_monotone_and_in_range() {
        for erlangs in [400.0_f64, 523.7, 650.0, 800.0] {
            let first = erlangs.floor() as u32 + 1;
            let mut previous_waiting = 1.0;
            let mut previous_level = 0.0;
            for agents in first..first + 150 {
                let waiting = probability_of_waiting(agents, erlangs);
                let level = service_level(agents, erlangs, 240.0, 20.0);
                assert!(waiting.is_finite() && (0.0..=1.0).contains(&waiting));
                assert!(level.is_finite() && (0.0..=1.0).contains(&level));
                assert!(
                    waiting <= previous_waiting,
                    "P(wait) rises at A = {erlangs}, N = {agents}"
                );
                assert!(
                    level >= previous_level,
                    "SL falls at A = {erlangs}, N = {agents}"
                );
                previous_waiting = waiting;
                previous_level = level;
            }
            for target in [0.5, 0.8, 0.95, 0.999] {
                let outcome = agents_for_service_level(erlangs, 240.0, 20.0, target).unwrap();
                assert!(f64::from(outcome.agents) > erlangs);
                assert!(outcome.service_level >= target);
                assert!(outcome.average_speed_of_answer.is_finite());
                let fewer = outcome.agents - 1;
                assert!(
                    f64::from(fewer) <= erlangs
                        || service_level(fewer, erlangs, 240.0, 20.0) < target,
                    "A = {erlangs}, target {target}: {fewer} agents would do"
                );
            }
        }
    }

    #[test]
    fn an_unstable_queue_always_waits() {
        assert_eq!(probability_of_waiting(10, 10.0), 1.0);
        assert_eq!(probability_of_waiting(3, 4.5), 1.0);
        assert_eq!(service_level(10, 10.0, 180.0, 20.0), 0.0);
        assert_eq!(average_speed_of_answer(9, 10.0, 180.0), None);
        assert_eq!(occupancy(9, 10.0), Some(1.0));
        assert_eq!(occupancy(0, 0.0), None);
    }

    #[test]
    fn erlang_b_follows_the_closed_form_for_small_cases() {
        // B(1, A) = A / (1 + A); B(2, A) = (A²/2) / (1 + A + A²/2).
        assert_four_digits(erlang_b(1, 3.0), 0.75, "B(1, 3)");
        assert_four_digits(erlang_b(2, 3.0), 4.5 / 8.5, "B(2, 3)");
        assert_eq!(erlang_b(0, 3.0), 1.0);
    }

    #[test]
    fn out_of_range_inputs_are_refused() {
        assert!(agents_for_service_level(-1.0, 180.0, 20.0, 0.8).is_none());
        assert!(agents_for_service_level(f64::NAN, 180.0, 20.0, 0.8).is_none());
        assert!(agents_for_service_level(10.0, 0.0, 20.0, 0.8).is_none());
        assert!(agents_for_service_level(10.0, 180.0, 20.0, 1.0).is_none());
        assert!(agents_for_service_level(10.0, 180.0, 20.0, 0.0).is_none());
        assert!(agents_for_service_level(2.0e6, 180.0, 20.0, 0.8).is_none());
        assert_eq!(
            agents_for_service_level(0.0, 180.0, 20.0, 0.8).map(|outcome| outcome.agents),
            Some(1)
        );
    }
}
