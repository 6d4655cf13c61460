//! Resolution of objects whose fields are values already in memory, without the engine's
//! per-field machinery.
//!
//! async-graphql resolves every field of every object as its own boxed future, collected in a
//! `FuturesUnordered`, so that fields which wait (on a DataLoader, on the database) wait
//! together. For an object whose fields never wait — a metric's value with its numerator,
//! interval and so on — that machinery is most of the cost: a `metrics` report of 96 rows by
//! 8 metrics is 4,600 such fields, and the futures, wakers and moves around them took more
//! server time than the values themselves.
//!
//! [`Plain`] wraps such a type. It is the same type to the schema (same name, same fields,
//! same descriptions: the wrapped type's derive registers it), but its selection set is
//! resolved in one pass, field after field, in document order, with fragments expanded where
//! they stand — the order and merging rules of the engine's own resolver. A field that does
//! wait still works (it is awaited in turn), only without overlapping its siblings; so
//! [`Plain`] is for types whose fields are values in memory, or with at most one field that
//! waits (an org unit's `parent`), where there is nothing to overlap. The tests below ask the
//! engine and [`Plain`] the same selections and compare the answers.

use std::borrow::Cow;

use async_graphql::{
    indexmap::{map::Entry, IndexMap},
    parser::types::{Field, Selection},
    registry::Registry,
    ContainerType, ContextSelectionSet, Name, OutputType, Positioned, ServerError, ServerResult,
    Value,
};

/// An object resolved in one pass (see the module's notes). Transparent to the schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Plain<T>(pub T);

impl<T> From<T> for Plain<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> std::ops::Deref for Plain<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: OutputType + ContainerType> OutputType for Plain<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        resolve_in_one_pass(ctx, &self.0).await
    }
}

/// A list of objects resolved in one pass each, one after the other (see the module's notes):
/// the engine's own list resolver joins one future per item. Transparent to the schema: it is
/// `[T!]!` there, like `Vec<T>`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlainList<T>(pub Vec<T>);

impl<T> FromIterator<T> for PlainList<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        Self(items.into_iter().collect())
    }
}

impl<T: OutputType + ContainerType> OutputType for PlainList<T> {
    fn type_name() -> Cow<'static, str> {
        Vec::<T>::type_name()
    }

    fn qualified_type_name() -> String {
        Vec::<T>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        Vec::<T>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let mut items = Vec::with_capacity(self.0.len());
        for (index, item) in self.0.iter().enumerate() {
            let item_context = ctx.with_index(index);
            let value = resolve_in_one_pass(&item_context, item)
                .await
                .map_err(|error| item_context.set_error_path(error))?;
            items.push(value);
        }
        Ok(Value::List(items))
    }
}

/// The selection set of `ctx` on `root`, field after field in document order, fragments
/// expanded where they stand.
async fn resolve_in_one_pass<T: OutputType + ContainerType>(
    ctx: &ContextSelectionSet<'_>,
    root: &T,
) -> ServerResult<Value> {
    let mut fields: IndexMap<Name, Value> = IndexMap::with_capacity(ctx.item.node.items.len());
    // The selection sets still being walked, each with the index of its next selection: a
    // fragment is walked where it stands, then its parent resumes (an explicit stack, as an
    // async function cannot recurse without boxing).
    let mut stack = vec![(ctx.clone(), 0_usize)];
    while let Some((set, next)) = stack.pop() {
        let Some(selection) = set.item.node.items.get(next) else {
            continue;
        };
        stack.push((set.clone(), next + 1));
        match &selection.node {
            Selection::Field(field) => {
                // The same response key twice selects the same field with the same
                // arguments (validation guarantees it): the first one answers.
                let Entry::Vacant(slot) = fields.entry(field.node.response_key().node.clone())
                else {
                    continue;
                };
                if field.node.name.node == "__typename" {
                    slot.insert(Value::String(root.introspection_type_name().into()));
                    continue;
                }
                let field_context = set.with_field(field);
                match root.resolve_field(&field_context).await {
                    Ok(value) => {
                        slot.insert(value.unwrap_or_default());
                    }
                    // As the engine does: the error is reported and the field left out.
                    Err(error) => set.add_error(error),
                }
            }
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                let Some(fragment) = set.query_env.fragments.get(name) else {
                    return Err(ServerError::new(
                        format!(r#"Unknown fragment "{name}"."#),
                        Some(spread.pos),
                    ));
                };
                if applies::<T>(&set, root, Some(&fragment.node.type_condition.node.on.node)) {
                    stack.push((set.with_selection_set(&fragment.node.selection_set), 0));
                }
            }
            Selection::InlineFragment(fragment) => {
                let condition = fragment
                    .node
                    .type_condition
                    .as_ref()
                    .map(|condition| &condition.node.on.node);
                if applies::<T>(&set, root, condition) {
                    stack.push((set.with_selection_set(&fragment.node.selection_set), 0));
                }
            }
        }
    }
    Ok(if fields.is_empty() {
        Value::Null
    } else {
        Value::Object(fields)
    })
}

/// Whether a fragment with `condition` applies to `root`: no condition, its own type, or an
/// interface it implements (the engine's rule).
fn applies<T: OutputType>(
    set: &ContextSelectionSet<'_>,
    root: &T,
    condition: Option<&Name>,
) -> bool {
    let Some(condition) = condition else {
        return true;
    };
    let own = root.introspection_type_name();
    own == condition.as_str()
        || T::type_name() == condition.as_str()
        || set
            .schema_env
            .registry
            .implements
            .get(own.as_ref())
            .is_some_and(|interfaces| interfaces.contains(condition.as_str()))
}

#[cfg(test)]
mod tests {
    use async_graphql::{
        EmptyMutation, EmptySubscription, Interface, Object, Schema, SimpleObject, Value,
    };

    use super::{Plain, PlainList};

    #[derive(SimpleObject, Clone)]
    struct Reading {
        label: String,
        value: Option<f64>,
        count: i32,
        flagged: bool,
    }

    /// An object with a field that waits, to show it is still resolved (in turn).
    #[derive(Clone)]
    struct Slow(i32);

    #[Object]
    impl Slow {
        async fn later(&self) -> i32 {
            tokio::task::yield_now().await;
            self.0
        }
        async fn now(&self) -> i32 {
            self.0 + 1
        }
    }

    #[derive(Interface)]
    #[graphql(field(name = "label", ty = "&String"))]
    enum Labelled {
        Reading(Reading),
    }

    struct Query;

    fn reading(index: i32) -> Reading {
        Reading {
            label: format!("r{index}"),
            value: (index % 2 == 0).then_some(f64::from(index) / 4.0),
            count: index,
            flagged: index % 3 == 0,
        }
    }

    #[Object]
    impl Query {
        async fn stock(&self) -> Vec<Reading> {
            (0..4).map(reading).collect()
        }
        async fn plain(&self) -> Vec<Plain<Reading>> {
            (0..4).map(reading).map(Plain).collect()
        }
        async fn plain_list(&self) -> PlainList<Reading> {
            (0..4).map(reading).collect()
        }
        async fn slow(&self) -> Plain<Slow> {
            Plain(Slow(41))
        }
        async fn labelled(&self) -> Labelled {
            Labelled::Reading(reading(1))
        }
    }

    /// Every selection form, asked of the stock resolver and of [`Plain`]: the answers match.
    #[tokio::test]
    async fn answers_exactly_as_the_engine_does() {
        let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
        let selection = r#"{
            __typename label again: label value count
            ...Parts
            ... on Reading { flagged count }
            ... { label }
            ... on Labelled { label }
            skipped: value @skip(if: $yes)
            kept: value @include(if: $yes)
            value
        }"#;
        let document = |field: &str| {
            format!(
                "query($yes: Boolean!) {{ {field} {selection} }} \
                 fragment Parts on Reading {{ flagged label }}"
            )
        };
        let run = |text: String| {
            let schema = schema.clone();
            async move {
                let response = schema
                    .execute(async_graphql::Request::new(text).variables(
                        async_graphql::Variables::from_json(serde_json::json!({ "yes": true })),
                    ))
                    .await;
                assert!(response.errors.is_empty(), "{:?}", response.errors);
                response.data
            }
        };
        // Key order is part of the answer (and JSON objects here would sort their keys).
        let keys = |value: &Value, field: &str| -> Vec<String> {
            let Value::Object(root) = value else {
                panic!("no data")
            };
            let Some(Value::List(items)) = root.get(field) else {
                panic!("no list")
            };
            let Some(Value::Object(first)) = items.first() else {
                panic!("no object")
            };
            first.keys().map(|key| key.to_string()).collect()
        };
        let stock = run(document("stock")).await;
        let plain = run(document("plain")).await;
        let plain_list = run(document("plainList")).await;
        assert_eq!(keys(&stock, "stock"), keys(&plain, "plain"));
        assert_eq!(keys(&stock, "stock"), keys(&plain_list, "plainList"));
        assert_eq!(
            keys(&plain, "plain"),
            [
                "__typename",
                "label",
                "again",
                "value",
                "count",
                "flagged",
                "kept"
            ]
        );
        let (stock, plain) = (
            stock.into_json().expect("JSON"),
            plain.into_json().expect("JSON"),
        );
        assert_eq!(stock["stock"], plain["plain"]);
        assert_eq!(
            stock["stock"],
            plain_list.into_json().expect("JSON")["plainList"]
        );
        assert_eq!(plain["plain"][2]["value"], serde_json::json!(0.5));
        assert_eq!(plain["plain"][3]["value"], serde_json::Value::Null);

        let slow = run("{ slow { later now } }".into()).await;
        assert_eq!(
            slow.into_json().expect("JSON"),
            serde_json::json!({ "slow": { "later": 41, "now": 42 } })
        );
    }

    /// The wrapper does not show in the schema.
    #[test]
    fn is_the_wrapped_type_to_the_schema() {
        let sdl = Schema::new(Query, EmptyMutation, EmptySubscription).sdl();
        assert!(sdl.contains("stock: [Reading!]!"), "{sdl}");
        assert!(sdl.contains("plain: [Reading!]!"), "{sdl}");
        assert!(sdl.contains("plainList: [Reading!]!"), "{sdl}");
        assert!(sdl.contains("slow: Slow!"), "{sdl}");
        assert!(!sdl.contains("Plain"), "{sdl}");
    }
}
