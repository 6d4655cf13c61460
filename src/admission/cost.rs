//! The GraphQL cost model: what a document will cost, computed from the document, its
//! variables and the size of the reference data — before any resolver or SQL runs.
//!
//! Units: one unit is roughly the work of resolving one field of one record. So
//!
//! - a field costs 1 plus what it selects (`__typename` is free);
//! - a connection (a field selecting `edges` or `nodes`) costs 1 plus its selection times the page
//!   size it asks for (`first`/`last`, default 20, capped at the connection maximum of 100), and
//!   `totalCount` a further 10 (a count over the filtered rows);
//! - `metrics` costs 10 plus one unit per ten cells it may return, where cells = periods ×
//!   groups × metrics: the periods of `[from, to]` at the granularity, and for each `groupBy`
//!   dimension the number of values it can take (the filter's list when given, otherwise the
//!   channels, org units, agents or topics that exist);
//! - the insights, the oversight report and audit verification cost the fixed amounts of
//!   [`FIXED_COSTS`], measured as a multiple of a large `metrics` request.
//!
//! Fragments are costed once each (memoised), so a document cannot grow exponentially by
//! spreading fragments inside fragments; a cycle costs nothing here and is refused by the
//! engine's validation. Every string argument is checked by [`check_storable`] on the way.

use std::collections::{HashMap, HashSet};

use async_graphql::{
    parser::types::{
        DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
    },
    Name, Positioned, Variables,
};
use async_graphql_value::{ConstValue, Value};
use chrono::NaiveDate;

use crate::{
    domain::text::check_storable,
    error::{AppError, AppResult},
    metrics::{Dimension, Granularity},
};

/// Reporting root fields whose cost does not depend on their arguments, in units. Calibrated
/// against `metrics`: a `trainingNeeds` report runs one engine request per metric over every
/// agent of a unit (about a 30,000-cell `metrics` request), the oversight report a dozen
/// requests, audit verification a walk of the whole chain.
pub const FIXED_COSTS: &[(&str, u64)] = &[
    ("serviceStandardAttainment", 1_000),
    ("staffingPlan", 1_500),
    ("programScorecard", 2_000),
    ("trainingImpact", 2_000),
    ("trainingNeeds", 3_000),
    ("oversightReport", 5_000),
    ("verifyAuditChain", 5_000),
];

/// The reporting root field whose cost depends on its arguments.
pub const METRICS_FIELD: &str = "metrics";

/// Mutations that verify a credential; one operation may carry each at most once.
pub const CREDENTIAL_MUTATIONS: &[&str] = &["login", "refreshSession"];

/// Largest page a connection returns (see `graphql::connection`).
const MAX_PAGE: u64 = 100;
/// Page size when `first`/`last` is not given.
const DEFAULT_PAGE: u64 = 20;
/// Extra cost of a connection's `totalCount` (a count over the filtered rows).
const TOTAL_COUNT_COST: u64 = 10;
/// Nesting beyond which the walk stops (the engine refuses such documents anyway).
const MAX_WALK_DEPTH: usize = 64;
/// Channels that exist (the `Channel` enum).
const CHANNELS: u64 = 8;

/// How many values each dimension can take, refreshed from the database now and then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferenceSizes {
    pub org_units: u64,
    pub agents: u64,
    pub topics: u64,
}

impl Default for ReferenceSizes {
    /// Generous guesses used until the first refresh.
    fn default() -> Self {
        Self {
            org_units: 50,
            agents: 200,
            topics: 30,
        }
    }
}

/// What one operation of a document will cost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperationCost {
    /// Total units.
    pub total: u64,
    /// Of which reporting work: the units of `metrics` and of the insights (what decides
    /// whether the operation runs as reporting work; record pages never do).
    pub reporting_units: u64,
    /// Reporting root fields selected (`metrics` and [`FIXED_COSTS`]), aliases and repeated
    /// fragment spreads included.
    pub expensive_fields: u64,
    /// True when one of [`FIXED_COSTS`] is selected (they always run as reporting work).
    pub has_insights: bool,
    /// Whether the operation is a mutation.
    pub is_mutation: bool,
    /// Mutation root fields selected.
    pub mutation_fields: u64,
    /// Root fields that verify a credential, by name, with how often each is selected.
    pub credential_fields: Vec<(String, u64)>,
    /// The largest `metrics` result any selected `metrics` field may produce, in cells.
    pub largest_metrics_cells: u64,
}

impl OperationCost {
    /// Adds the root-field counts of `other` (a fragment spread again at the root).
    fn add_root_fields(&mut self, other: &OperationCost) {
        self.expensive_fields = self.expensive_fields.saturating_add(other.expensive_fields);
        self.reporting_units = self.reporting_units.saturating_add(other.reporting_units);
        self.has_insights |= other.has_insights;
        self.mutation_fields = self.mutation_fields.saturating_add(other.mutation_fields);
        for (field, count) in &other.credential_fields {
            self.count_credential(field, *count);
        }
        self.largest_metrics_cells = self.largest_metrics_cells.max(other.largest_metrics_cells);
    }

    fn count_credential(&mut self, name: &str, count: u64) {
        match self
            .credential_fields
            .iter_mut()
            .find(|(field, _)| field == name)
        {
            Some((_, existing)) => *existing = existing.saturating_add(count),
            None => self.credential_fields.push((name.to_owned(), count)),
        }
    }
}

/// Computes the cost of the operation `operation_name` selects in `document` (the only one
/// when `None`). An operation that cannot be selected costs nothing here: the engine reports
/// the problem. A string argument PostgreSQL cannot store is refused, naming the argument.
pub fn analyse(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    sizes: &ReferenceSizes,
) -> AppResult<OperationCost> {
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some(&operation.node),
        (DocumentOperations::Multiple(operations), Some(name)) => {
            operations.get(name).map(|operation| &operation.node)
        }
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next().map(|operation| &operation.node)
        }
        (DocumentOperations::Multiple(_), None) => None,
    };
    let Some(operation) = operation else {
        return Ok(OperationCost::default());
    };
    let mut walker = Walker {
        document,
        variables,
        sizes,
        fragment_costs: HashMap::new(),
        visiting: HashSet::new(),
        cost: OperationCost {
            is_mutation: operation.ty == OperationType::Mutation,
            ..OperationCost::default()
        },
    };
    let total = walker.selection_set(&operation.selection_set.node, 0, true)?;
    let mut cost = walker.cost;
    cost.total = total;
    Ok(cost)
}

struct Walker<'a> {
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    sizes: &'a ReferenceSizes,
    /// Each fragment already walked, by (name, spread at the root): its cost and, at the
    /// root, the root fields it selects (added again each time it is spread again).
    fragment_costs: HashMap<(Name, bool), (u64, OperationCost)>,
    /// Fragments being walked (a spread of one of these is a cycle).
    visiting: HashSet<Name>,
    cost: OperationCost,
}

impl Walker<'_> {
    fn selection_set(&mut self, set: &SelectionSet, depth: usize, root: bool) -> AppResult<u64> {
        if depth > MAX_WALK_DEPTH {
            return Ok(0);
        }
        let mut total = 0u64;
        for selection in &set.items {
            let cost = match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let name = field.name.node.as_str();
                    let arguments = self.arguments(name, &field.arguments)?;
                    if name == "__typename" {
                        continue;
                    }
                    let selected =
                        self.selection_set(&field.selection_set.node, depth + 1, false)?;
                    if root {
                        self.root_field(name, &arguments, &field.selection_set.node, selected)
                    } else {
                        nested_field_cost(name, &arguments, &field.selection_set.node, selected)
                    }
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.clone();
                    self.fragment(name, depth, root)?
                }
                Selection::InlineFragment(fragment) => {
                    self.selection_set(&fragment.node.selection_set.node, depth + 1, root)?
                }
            };
            total = total.saturating_add(cost);
        }
        Ok(total)
    }

    fn fragment(&mut self, name: Name, depth: usize, root: bool) -> AppResult<u64> {
        if let Some((cost, root_fields)) = self.fragment_costs.get(&(name.clone(), root)) {
            let (cost, root_fields) = (*cost, root_fields.clone());
            self.cost.add_root_fields(&root_fields);
            return Ok(cost);
        }
        let Some(definition) = self.document.fragments.get(&name) else {
            return Ok(0); // The engine reports the unknown fragment.
        };
        if !self.visiting.insert(name.clone()) {
            return Ok(0); // A cycle: the engine refuses it.
        }
        // Walk with empty root counts, so what this fragment adds can be remembered.
        let is_mutation = self.cost.is_mutation;
        let outer = std::mem::replace(
            &mut self.cost,
            OperationCost {
                is_mutation,
                ..OperationCost::default()
            },
        );
        let walked = self.selection_set(&definition.node.selection_set.node, depth + 1, root);
        let root_fields = std::mem::replace(&mut self.cost, outer);
        let cost = walked?;
        self.cost.add_root_fields(&root_fields);
        self.visiting.remove(&name);
        self.fragment_costs
            .insert((name, root), (cost, root_fields));
        Ok(cost)
    }

    /// The field's arguments with variables substituted; every string in them must be
    /// storable (the error names `field.argument.path`).
    fn arguments(
        &self,
        field: &str,
        arguments: &[(Positioned<Name>, Positioned<Value>)],
    ) -> AppResult<Vec<(String, ConstValue)>> {
        arguments
            .iter()
            .map(|(name, value)| {
                let resolved = value
                    .node
                    .clone()
                    .into_const_with(|variable| {
                        Ok::<_, std::convert::Infallible>(
                            self.variables.get(&variable).cloned().unwrap_or_default(),
                        )
                    })
                    .unwrap_or_default();
                check_strings(&format!("{field}.{}", name.node), &resolved)?;
                Ok((name.node.to_string(), resolved))
            })
            .collect()
    }

    fn root_field(
        &mut self,
        name: &str,
        arguments: &[(String, ConstValue)],
        selection: &SelectionSet,
        selected: u64,
    ) -> u64 {
        if self.cost.is_mutation {
            self.cost.mutation_fields += 1;
            if CREDENTIAL_MUTATIONS.contains(&name) {
                self.cost.count_credential(name, 1);
            }
            return selected.saturating_add(1);
        }
        if name == METRICS_FIELD {
            self.cost.expensive_fields += 1;
            let cells = argument(arguments, "query")
                .map(|query| metrics_cells(query, self.sizes))
                .unwrap_or(0);
            self.cost.largest_metrics_cells = self.cost.largest_metrics_cells.max(cells);
            let units = 10u64.saturating_add(cells.div_ceil(10));
            self.cost.reporting_units = self.cost.reporting_units.saturating_add(units);
            return units;
        }
        if let Some((_, fixed)) = FIXED_COSTS.iter().find(|(field, _)| *field == name) {
            self.cost.expensive_fields += 1;
            self.cost.has_insights = true;
            self.cost.reporting_units = self.cost.reporting_units.saturating_add(*fixed);
            return fixed.saturating_add(selected);
        }
        nested_field_cost(name, arguments, selection, selected)
    }
}

/// A field below the root: 1 plus its selection, times the page for a connection.
fn nested_field_cost(
    name: &str,
    arguments: &[(String, ConstValue)],
    selection: &SelectionSet,
    selected: u64,
) -> u64 {
    let _ = name;
    let is_connection = selection.items.iter().any(|item| {
        matches!(&item.node, Selection::Field(field)
            if matches!(field.node.name.node.as_str(), "edges" | "nodes"))
    });
    if !is_connection {
        return selected.saturating_add(1);
    }
    let page = ["first", "last"]
        .iter()
        .filter_map(|key| argument(arguments, key))
        .filter_map(|value| match value {
            ConstValue::Number(number) => number.as_u64(),
            _ => None,
        })
        .max()
        .unwrap_or(DEFAULT_PAGE)
        .clamp(1, MAX_PAGE);
    let counts_total = selection.items.iter().any(|item| {
        matches!(&item.node, Selection::Field(field) if field.node.name.node == "totalCount")
    });
    selected
        .saturating_mul(page)
        .saturating_add(1)
        .saturating_add(if counts_total { TOTAL_COUNT_COST } else { 0 })
}

fn argument<'a>(arguments: &'a [(String, ConstValue)], name: &str) -> Option<&'a ConstValue> {
    arguments
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

/// The most cells a `metrics(query:)` request may return: periods × groups × metrics.
pub fn metrics_cells(query: &ConstValue, sizes: &ReferenceSizes) -> u64 {
    let ConstValue::Object(query) = query else {
        return 0;
    };
    let list_len = |value: Option<&ConstValue>| match value {
        Some(ConstValue::List(items)) => items.len() as u64,
        _ => 0,
    };
    let date = |key: &str| match query.get(key) {
        Some(ConstValue::String(text)) => NaiveDate::parse_from_str(text, "%Y-%m-%d").ok(),
        _ => None,
    };
    // Enum values arrive as enums in the document and as strings in JSON variables.
    let name_of = |value: &ConstValue| match value {
        ConstValue::Enum(name) => Some(name.as_str().to_owned()),
        ConstValue::String(text) => Some(text.clone()),
        _ => None,
    };
    let metrics = list_len(query.get("metrics")).max(1);
    let periods = match (date("from"), date("to")) {
        (Some(from), Some(to)) => query
            .get("granularity")
            .and_then(name_of)
            .and_then(|name| Granularity::from_name(&name))
            .map(|granularity| granularity.periods_between(from, to))
            .unwrap_or(1),
        _ => 1,
    };
    let filter = match query.get("filter") {
        Some(ConstValue::Object(filter)) => Some(filter),
        _ => None,
    };
    let listed = |key: &str| {
        filter
            .map(|filter| list_len(filter.get(key)))
            .filter(|count| *count > 0)
    };
    let mut groups = 1u64;
    if let Some(ConstValue::List(dimensions)) = query.get("groupBy") {
        let mut seen = HashSet::new();
        for dimension in dimensions {
            let Some(dimension) = name_of(dimension).and_then(|name| Dimension::from_name(&name))
            else {
                continue;
            };
            if !seen.insert(dimension) {
                continue;
            }
            let values = match dimension {
                Dimension::Channel => listed("channels").unwrap_or(CHANNELS).min(CHANNELS),
                Dimension::OrgUnit => sizes.org_units,
                Dimension::Agent => listed("agentIds").unwrap_or(sizes.agents),
                Dimension::Topic => listed("topicCodes").unwrap_or(sizes.topics),
            };
            groups = groups.saturating_mul(values.max(1));
        }
    }
    periods.saturating_mul(groups).saturating_mul(metrics)
}

/// Refuses any string in `value` that PostgreSQL cannot store; `path` names the argument.
fn check_strings(path: &str, value: &ConstValue) -> AppResult<()> {
    match value {
        ConstValue::String(text) => check_storable(path, text),
        ConstValue::List(items) => items.iter().try_for_each(|item| check_strings(path, item)),
        ConstValue::Object(fields) => fields
            .iter()
            .try_for_each(|(key, item)| check_strings(&format!("{path}.{key}"), item)),
        _ => Ok(()),
    }
}

/// Why an operation is refused before execution, if it is.
pub fn check_limits(
    cost: &OperationCost,
    limits: &crate::config::AdmissionSettings,
) -> AppResult<()> {
    // Credential mutations first: an aliased sign-in flood is named for what it is.
    if let Some((field, count)) = cost.credential_fields.iter().find(|(_, count)| *count > 1) {
        return Err(AppError::invalid(format!(
            "`{field}` appears {count} times in this operation; it may appear once"
        )));
    }
    if cost.total > limits.max_cost {
        return Err(AppError::OverBudget {
            message: format!(
                "this operation would cost {} units; the budget is {} per operation. Ask for fewer fields, smaller pages, shorter periods, a coarser granularity or fewer breakdowns — or split it into several requests (large metric tables: use /export/metrics.csv, which streams)",
                cost.total, limits.max_cost
            ),
            cost: cost.total,
            budget: limits.max_cost,
        });
    }
    if cost.expensive_fields > limits.max_expensive_fields as u64 {
        return Err(AppError::invalid(format!(
            "this operation selects {} reporting fields (metrics, insights, reports, audit verification); at most {} are allowed per operation — send the others in separate requests",
            cost.expensive_fields,
            limits.max_expensive_fields
        )));
    }
    if cost.mutation_fields > limits.max_mutation_fields as u64 {
        return Err(AppError::invalid(format!(
            "this operation selects {} mutation fields; at most {} are allowed per operation",
            cost.mutation_fields, limits.max_mutation_fields
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn cost_of(query: &str, variables: serde_json::Value) -> AppResult<OperationCost> {
        let document = parse_query(query).unwrap();
        analyse(
            &document,
            None,
            &Variables::from_json(variables),
            &ReferenceSizes {
                org_units: 10,
                agents: 40,
                topics: 6,
            },
        )
    }

    #[test]
    fn plain_fields_cost_one_each_and_typename_is_free() {
        let cost = cost_of("{ __typename me { id email role } }", serde_json::json!({})).unwrap();
        assert_eq!(cost.total, 4);
        assert_eq!(cost.expensive_fields, 0);
    }

    #[test]
    fn connections_multiply_by_their_page() {
        // 50 × (edges 1 + node 1 + 3 fields + agent 1 + email 1) + 1 + totalCount 10 + pageInfo 2.
        let cost = cost_of(
            "{ interactions(first: 50) { totalCount pageInfo { endCursor } edges { node { id channel startedAt agent { email } } } } }",
            serde_json::json!({}),
        )
        .unwrap();
        // selection = totalCount 1 + pageInfo 2 + edges(1 + node(1 + 3 + agent 2)) = 10
        assert_eq!(cost.total, 10 * 50 + 1 + 10);
        // Without first: the default page of 20; above 100: capped.
        let default = cost_of(
            "{ topics { edges { node { code } } } }",
            serde_json::json!({}),
        )
        .unwrap();
        assert_eq!(default.total, 3 * 20 + 1);
        let capped = cost_of(
            "query($n: Int) { topics(first: $n) { edges { node { code } } } }",
            serde_json::json!({ "n": 100000 }),
        )
        .unwrap();
        assert_eq!(capped.total, 3 * 100 + 1);
    }

    #[test]
    fn metrics_cost_follows_its_cells() {
        // 12 months × 8 channels × 8 metrics = 768 cells → 10 + 77.
        let query = "query($q: MetricsQuery!) { metrics(query: $q) { rows { periodLabel } } }";
        let twelve_months = serde_json::json!({ "q": {
            "metrics": ["INTERACTIONS", "ABANDONMENT_RATE", "AVERAGE_SPEED_OF_ANSWER", "SERVICE_LEVEL",
                        "AVERAGE_HANDLE_TIME", "FIRST_CONTACT_RESOLUTION", "CSAT", "SURVEY_RESPONSE_RATE"],
            "from": "2025-11-01", "to": "2026-10-31", "granularity": "MONTH", "groupBy": ["CHANNEL"] } });
        let cost = cost_of(query, twelve_months).unwrap();
        assert_eq!(cost.largest_metrics_cells, 768);
        assert_eq!(cost.total, 10 + 77);
        assert_eq!(cost.expensive_fields, 1);

        // Two years by day × 40 agents × 17 metrics: 730 × 40 × 17 = 496,400 cells.
        let huge = serde_json::json!({ "q": {
            "metrics": vec!["CSAT"; 17], "from": "2024-11-01", "to": "2026-10-31",
            "granularity": "DAY", "groupBy": ["AGENT", "AGENT"] } });
        let cost = cost_of(query, huge).unwrap();
        assert_eq!(cost.largest_metrics_cells, 730 * 40 * 17);

        // A filter narrows a dimension to the values listed.
        let filtered = serde_json::json!({ "q": {
            "metrics": ["CSAT"], "from": "2026-01-01", "to": "2026-01-31", "granularity": "DAY",
            "groupBy": ["CHANNEL", "TOPIC"], "filter": { "channels": ["PHONE", "CHAT"], "topicCodes": ["A"] } } });
        assert_eq!(
            cost_of(query, filtered).unwrap().largest_metrics_cells,
            31 * 2
        );
    }

    #[test]
    fn aliases_and_fragments_are_all_counted() {
        let aliased: String = (0..50)
            .map(|index| format!("a{index}: verifyAuditChain {{ ok }} "))
            .collect();
        let cost = cost_of(&format!("{{ {aliased} }}"), serde_json::json!({})).unwrap();
        assert_eq!(cost.expensive_fields, 50);
        assert_eq!(cost.total, 50 * (5_000 + 1));

        let spread_twice = "{ ...F ...F } fragment F on Query { oversightReport(fiscalYear: 2026, quarter: 1) { generatedAt } }";
        let cost = cost_of(spread_twice, serde_json::json!({})).unwrap();
        assert_eq!(cost.expensive_fields, 2);
        assert!(cost.has_insights);
    }

    #[test]
    fn nested_fragments_cannot_grow_exponentially() {
        // Each level spreads the previous one twice: 2^30 selections if expanded naively.
        let mut document = String::from("{ ...F30 } fragment F0 on Query { me { id } }");
        for level in 1..=30 {
            document.push_str(&format!(
                " fragment F{level} on Query {{ ...F{} ...F{} }}",
                level - 1,
                level - 1
            ));
        }
        let started = std::time::Instant::now();
        let cost = cost_of(&document, serde_json::json!({})).unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        // The memoised cost of F0 is 2 and it is counted once per spread at each level.
        assert_eq!(cost.total, 2 * (1 << 30));
        // Root fields hidden in nested spreads are counted as often as they would run.
        let mut reports =
            String::from("{ ...R20 } fragment R0 on Query { verifyAuditChain { ok } }");
        for level in 1..=20 {
            reports.push_str(&format!(
                " fragment R{level} on Query {{ ...R{} ...R{} }}",
                level - 1,
                level - 1
            ));
        }
        let cost = cost_of(&reports, serde_json::json!({})).unwrap();
        assert_eq!(cost.expensive_fields, 1 << 20);
    }

    #[test]
    fn mutation_fields_and_credentials_are_counted() {
        let logins: String = (0..3)
            .map(|index| {
                format!("l{index}: login(email: \"a@b.c\", password: \"x\") {{ accessToken }} ")
            })
            .collect();
        let cost = cost_of(&format!("mutation {{ {logins} }}"), serde_json::json!({})).unwrap();
        assert!(cost.is_mutation);
        assert_eq!(cost.mutation_fields, 3);
        assert_eq!(cost.credential_fields, vec![("login".to_owned(), 3)]);
    }

    #[test]
    fn nul_in_any_argument_names_its_path() {
        let error = cost_of(
            "mutation($name: String!) { createTopic(code: \"OK\", name: $name) { id } }",
            serde_json::json!({ "name": "bad\u{0}name" }),
        )
        .unwrap_err();
        assert!(
            matches!(&error, AppError::BadUserInput { field: Some(field), .. } if field == "createTopic.name"),
            "{error:?}"
        );
        let nested = cost_of(
            "mutation { recordInteraction(input: { customer: { contactName: \"a\\u0000\" } }) { created } }",
            serde_json::json!({}),
        )
        .unwrap_err();
        assert!(
            matches!(&nested, AppError::BadUserInput { field: Some(field), .. } if field == "recordInteraction.input.customer.contactName"),
            "{nested:?}"
        );
    }
}
