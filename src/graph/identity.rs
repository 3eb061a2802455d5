//! `identity`, `identitySet` and the communications identity variants (§3.3).
//!
//! Both types are open in Graph: bots send extra keys (`tenantId`, `identityProvider`, `hidden`…)
//! and expect them echoed back, so unknown keys are kept in `extra` and written out again.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::odata::is_empty_map;

/// One identity: a user, an application, a phone number, a guest…
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// `@odata.type` as sent (for example a `communicationsUserIdentity`); echoed back unchanged.
    #[serde(
        rename = "@odata.type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_type: Option<String>,
    /// The identifier: an object id, an app id, or an E.164 number for `phone`.
    #[serde(default)]
    pub id: Option<String>,
    /// The name shown to people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The tenant of a user or application instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Keys Switchboard does not interpret, kept and echoed back.
    #[serde(flatten, default, skip_serializing_if = "is_empty_map")]
    pub extra: Map<String, Value>,
}

impl Identity {
    /// An identity with an id and a display name, typed as a plain Graph `identity`.
    pub fn new(id: impl Into<String>, display_name: Option<String>) -> Identity {
        Identity {
            odata_type: Some(super::odata::type_name("identity")),
            id: Some(id.into()),
            display_name,
            tenant_id: None,
            extra: Map::new(),
        }
    }
}

/// The set of identities describing one party; usually exactly one member is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentitySet {
    /// `@odata.type` as sent (`identitySet` or `communicationsIdentitySet`).
    #[serde(
        rename = "@odata.type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_type: Option<String>,
    /// An application (a bot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<Identity>,
    /// A device such as a room system; read and echoed, never called by Switchboard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Identity>,
    /// A user of the directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Identity>,
    /// An application instance (a bot with a phone number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_instance: Option<Identity>,
    /// A phone number in E.164 form in `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Identity>,
    /// A guest without a directory account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest: Option<Identity>,
    /// An identity the service hides from the bot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<Identity>,
    /// A user of an on-premises directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_premises: Option<Identity>,
    /// Keys Switchboard does not interpret (`assertedIdentity`, `endpointType`…), echoed back.
    #[serde(flatten, default, skip_serializing_if = "is_empty_map")]
    pub extra: Map<String, Value>,
}

/// Who an identity set names, in the terms Switchboard routes calls by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Party {
    /// A directory user, by object id.
    User(String),
    /// An application (bot), by app id.
    Application(String),
    /// An application instance, by object id.
    ApplicationInstance(String),
    /// A phone number; refused as a target, since this server has no PSTN gateway.
    Phone(String),
    /// A guest, by its free-form id.
    Guest(String),
}

impl Party {
    /// The kind of party as Graph names the identity-set key (`user`, `application`…).
    pub fn kind(&self) -> &'static str {
        match self {
            Party::User(_) => "user",
            Party::Application(_) => "application",
            Party::ApplicationInstance(_) => "applicationInstance",
            Party::Phone(_) => "phone",
            Party::Guest(_) => "guest",
        }
    }

    /// The identifier inside the identity.
    pub fn id(&self) -> &str {
        match self {
            Party::User(id)
            | Party::Application(id)
            | Party::ApplicationInstance(id)
            | Party::Phone(id)
            | Party::Guest(id) => id,
        }
    }
}

impl IdentitySet {
    /// An identity set naming one application.
    pub fn application(id: impl Into<String>, display_name: Option<String>) -> IdentitySet {
        IdentitySet {
            odata_type: Some(super::odata::type_name("identitySet")),
            application: Some(Identity::new(id, display_name)),
            ..IdentitySet::default()
        }
    }

    /// An identity set naming one user.
    pub fn user(id: impl Into<String>, display_name: Option<String>) -> IdentitySet {
        IdentitySet {
            odata_type: Some(super::odata::type_name("identitySet")),
            user: Some(Identity::new(id, display_name)),
            ..IdentitySet::default()
        }
    }

    /// The party this set names, or `None` if no member with an `id` is set. When several are
    /// set, the most specific wins: application instance, application, user, phone, guest.
    pub fn party(&self) -> Option<Party> {
        let id_of = |identity: &Option<Identity>| {
            identity
                .as_ref()
                .and_then(|i| i.id.clone())
                .filter(|id| !id.is_empty())
        };
        None.or_else(|| id_of(&self.application_instance).map(Party::ApplicationInstance))
            .or_else(|| id_of(&self.application).map(Party::Application))
            .or_else(|| id_of(&self.user).map(Party::User))
            .or_else(|| id_of(&self.phone).map(Party::Phone))
            .or_else(|| id_of(&self.guest).map(Party::Guest))
    }

    /// The display name of whichever member is set.
    pub fn display_name(&self) -> Option<&str> {
        [
            &self.application_instance,
            &self.application,
            &self.user,
            &self.phone,
            &self.guest,
        ]
        .into_iter()
        .flatten()
        .find_map(|identity| identity.display_name.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sdk_identity_sets_without_odata_type_parse() {
        let set: IdentitySet =
            serde_json::from_value(json!({"user": {"displayName": "John", "id": "u1"}})).unwrap();
        assert_eq!(set.party(), Some(Party::User("u1".into())));
        assert_eq!(set.display_name(), Some("John"));
    }

    #[test]
    fn unknown_keys_and_types_are_echoed_back() {
        let input = json!({
            "@odata.type": "#microsoft.graph.communicationsIdentitySet",
            "user": {
                "@odata.type": "#microsoft.graph.communicationsUserIdentity",
                "id": "5810cede", "displayName": "Bob", "tenantId": "aa67",
                "identityProvider": "AAD"
            },
            "endpointType": "default",
            "assertedIdentity": {"id": "+1555"}
        });
        let set: IdentitySet = serde_json::from_value(input.clone()).unwrap();
        assert_eq!(set.user.as_ref().unwrap().extra["identityProvider"], "AAD");
        assert_eq!(serde_json::to_value(&set).unwrap(), input);
    }

    #[test]
    fn nulls_in_identity_sets_are_absent_members() {
        let set: IdentitySet = serde_json::from_value(json!({
            "application": {"id": "app-1", "displayName": null},
            "user": null, "device": null, "phone": null
        }))
        .unwrap();
        assert_eq!(set.party(), Some(Party::Application("app-1".into())));
        assert_eq!(IdentitySet::default().party(), None);
    }

    #[test]
    fn phone_and_guest_parties_are_recognised() {
        let phone: IdentitySet =
            serde_json::from_value(json!({"phone": {"id": "+12345678901"}})).unwrap();
        assert_eq!(phone.party(), Some(Party::Phone("+12345678901".into())));
        assert_eq!(phone.party().unwrap().kind(), "phone");
        let guest: IdentitySet =
            serde_json::from_value(json!({"guest": {"id": "g1", "displayName": "Visitor"}}))
                .unwrap();
        assert_eq!(guest.party().unwrap().id(), "g1");
    }
}
