//! OData annotations: `@odata.type` names and how loosely they are matched on input.

/// The namespace prefix of every Graph type name as it appears in `@odata.type`.
pub const NAMESPACE: &str = "#microsoft.graph.";

/// The full `@odata.type` value for a Graph type name, for example `#microsoft.graph.call`.
pub fn type_name(name: &str) -> String {
    format!("{NAMESPACE}{name}")
}

/// Whether an `@odata.type` value names `name`, ignoring case, the leading `#` and the
/// `microsoft.graph.` namespace, as the Python SDK does when it picks a subtype.
pub fn type_is(value: &str, name: &str) -> bool {
    short_name(value).eq_ignore_ascii_case(name)
}

/// The bare type name of an `@odata.type` value: `#microsoft.graph.call` → `call`.
pub fn short_name(value: &str) -> &str {
    let value = value.strip_prefix('#').unwrap_or(value);
    match value.get(..16) {
        Some(prefix) if prefix.eq_ignore_ascii_case("microsoft.graph.") => &value[16..],
        _ => value,
    }
}

/// Serde `skip_serializing_if` helper for extension maps.
pub(crate) fn is_empty_map(map: &serde_json::Map<String, serde_json::Value>) -> bool {
    map.is_empty()
}

/// Splits a JSON object into its `@odata.type` (if any) and the remaining keys, for types whose
/// concrete subtype is chosen by the discriminator.
pub(crate) fn split_type<E: serde::de::Error>(
    value: serde_json::Value,
    what: &str,
) -> Result<(Option<String>, serde_json::Map<String, serde_json::Value>), E> {
    match value {
        serde_json::Value::Object(mut map) => {
            let odata_type = match map.remove("@odata.type") {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(s)) => Some(s),
                Some(other) => {
                    return Err(E::custom(format!(
                        "{what}: @odata.type must be a string, got {other}"
                    )));
                }
            };
            Ok((odata_type, map))
        }
        other => Err(E::custom(format!(
            "{what} must be a JSON object, got {other}"
        ))),
    }
}

/// Serializes `inner` (which must serialize to an object) with `@odata.type` added.
pub(crate) fn serialize_tagged<S: serde::Serializer, T: serde::Serialize>(
    serializer: S,
    type_short_name: &str,
    inner: &T,
) -> Result<S::Ok, S::Error> {
    use serde::ser::Error;
    let mut value = serde_json::to_value(inner).map_err(S::Error::custom)?;
    if let serde_json::Value::Object(map) = &mut value {
        map.insert("@odata.type".into(), type_name(type_short_name).into());
    }
    serde::Serialize::serialize(&value, serializer)
}

/// Deserializes the remaining keys of a tagged object into its concrete type.
pub(crate) fn from_rest<T: serde::de::DeserializeOwned, E: serde::de::Error>(
    rest: serde_json::Map<String, serde_json::Value>,
    what: &str,
) -> Result<T, E> {
    serde_json::from_value(serde_json::Value::Object(rest))
        .map_err(|e| E::custom(format!("{what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_match_with_or_without_namespace_and_in_any_case() {
        assert!(type_is(
            "#microsoft.graph.serviceHostedMediaConfig",
            "serviceHostedMediaConfig"
        ));
        assert!(type_is(
            "microsoft.graph.servicehostedmediaconfig",
            "serviceHostedMediaConfig"
        ));
        assert!(type_is("#Microsoft.Graph.mediaPrompt", "mediaPrompt"));
        assert!(type_is("mediaPrompt", "mediaPrompt"));
        assert!(!type_is(
            "#microsoft.graph.appHostedMediaConfig",
            "serviceHostedMediaConfig"
        ));
        assert_eq!(short_name("#x"), "x");
        assert_eq!(type_name("call"), "#microsoft.graph.call");
    }
}
