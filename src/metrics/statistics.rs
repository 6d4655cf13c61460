//! Turning additive sums into values with 95% intervals (docs/metrics.md): Wilson score intervals
//! for proportions, mean ± 1.96·s/√n for means. A denominator of zero gives no value.

/// The normal quantile of a two-sided 95% interval.
pub const Z_95: f64 = 1.96;

/// A value with its interval; every part may be absent.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Estimate {
    pub value: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// `successes ÷ trials` with its Wilson score interval.
pub fn proportion(successes: f64, trials: f64) -> Estimate {
    if trials <= 0.0 {
        return Estimate::default();
    }
    let p = successes / trials;
    let z2 = Z_95 * Z_95;
    let scale = 1.0 + z2 / trials;
    let centre = (p + z2 / (2.0 * trials)) / scale;
    let half_width = Z_95 * (p * (1.0 - p) / trials + z2 / (4.0 * trials * trials)).sqrt() / scale;
    Estimate {
        value: Some(p),
        lower: Some((centre - half_width).max(0.0)),
        upper: Some((centre + half_width).min(1.0)),
    }
}

/// The mean of `n` values summing to `sum` with squares summing to `sum_of_squares`, with
/// mean ± 1.96·s/√n (s the sample standard deviation). Bounds need at least two values.
pub fn mean(sum: f64, n: f64, sum_of_squares: f64) -> Estimate {
    if n <= 0.0 {
        return Estimate::default();
    }
    let mean = sum / n;
    if n < 2.0 {
        return Estimate {
            value: Some(mean),
            lower: None,
            upper: None,
        };
    }
    // Rounding can push a zero variance a hair below zero.
    let variance = ((sum_of_squares - sum * sum / n) / (n - 1.0)).max(0.0);
    let half_width = Z_95 * variance.sqrt() / n.sqrt();
    Estimate {
        value: Some(mean),
        lower: Some(mean - half_width),
        upper: Some(mean + half_width),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: Option<f64>, expected: f64) {
        let actual = actual.expect("a value");
        assert!(
            (actual - expected).abs() < 1e-6,
            "expected {expected}, got {actual}"
        );
    }

    #[test]
    fn wilson_interval_matches_a_worked_example() {
        // 8 of 10: p = 0.8; Wilson 95% = [0.4902, 0.9433] (worked by hand from the formula).
        let estimate = proportion(8.0, 10.0);
        close(estimate.value, 0.8);
        close(estimate.lower, 0.490_156_846_7);
        close(estimate.upper, 0.943_319_052_0);
    }

    #[test]
    fn wilson_interval_stays_inside_zero_and_one() {
        let none = proportion(0.0, 5.0);
        close(none.lower, 0.0);
        assert!(none.upper.unwrap() > 0.0);
        let all = proportion(5.0, 5.0);
        close(all.upper, 1.0);
    }

    #[test]
    fn empty_denominators_give_no_value() {
        assert_eq!(proportion(0.0, 0.0), Estimate::default());
        assert_eq!(mean(0.0, 0.0, 0.0), Estimate::default());
    }

    #[test]
    fn mean_interval_uses_the_sample_standard_deviation() {
        // 10, 20, 30: mean 20, s = 10, half width 1.96·10/√3 = 11.3161...
        let estimate = mean(60.0, 3.0, 1400.0);
        close(estimate.value, 20.0);
        close(estimate.lower, 20.0 - 11.316_065_276_1);
        close(estimate.upper, 20.0 + 11.316_065_276_1);
        let single = mean(42.0, 1.0, 1764.0);
        close(single.value, 42.0);
        assert_eq!(single.lower, None);
    }

    proptest::proptest! {
        /// A Wilson interval holds its proportion and stays inside [0, 1]; more trials at the
        /// same proportion never widen it.
        #[test]
        fn wilson_intervals_hold_the_proportion_inside_zero_and_one(
            trials in 1u32..100_000,
            share in 0.0f64..=1.0,
        ) {
            let successes = (f64::from(trials) * share).floor();
            let estimate = proportion(successes, f64::from(trials));
            let (value, lower, upper) = (estimate.value.unwrap(), estimate.lower.unwrap(), estimate.upper.unwrap());
            proptest::prop_assert!((value - successes / f64::from(trials)).abs() < 1e-12);
            proptest::prop_assert!(0.0 <= lower && lower <= value + 1e-12);
            proptest::prop_assert!(value <= upper + 1e-12 && upper <= 1.0);
            let larger = proportion(successes * 4.0, f64::from(trials) * 4.0);
            proptest::prop_assert!(larger.upper.unwrap() - larger.lower.unwrap() <= upper - lower + 1e-12);
        }

        /// The mean of 1–5 answers from its sums equals the direct mean, lies inside its
        /// interval, and the interval's half-width is 1.96·s/√n computed the direct way.
        #[test]
        fn mean_intervals_from_sums_match_the_direct_computation(
            values in proptest::collection::vec(1u8..=5, 2..400),
        ) {
            let n = values.len() as f64;
            let sum: f64 = values.iter().map(|value| f64::from(*value)).sum();
            let squares: f64 = values.iter().map(|value| f64::from(*value).powi(2)).sum();
            let estimate = mean(sum, n, squares);
            let direct_mean = sum / n;
            let variance = values
                .iter()
                .map(|value| (f64::from(*value) - direct_mean).powi(2))
                .sum::<f64>()
                / (n - 1.0);
            let half_width = Z_95 * variance.sqrt() / n.sqrt();
            let value = estimate.value.unwrap();
            proptest::prop_assert!((value - direct_mean).abs() < 1e-9);
            proptest::prop_assert!((estimate.lower.unwrap() - (direct_mean - half_width)).abs() < 1e-9);
            proptest::prop_assert!((estimate.upper.unwrap() - (direct_mean + half_width)).abs() < 1e-9);
            proptest::prop_assert!((1.0..=5.0).contains(&value));
        }
    }
}
