//! Domain <-> proto for users.

use crate::{
    domain::user::{Role, User},
    proto::user::v1 as pb,
    time::to_timestamp,
};

pub(crate) fn role_to_pb(r: Role) -> pb::Role {
    match r {
        Role::User => pb::Role::User,
        Role::Support => pb::Role::Support,
        Role::Admin => pb::Role::Admin,
    }
}

/// Takes the user by value: its strings move into the reply instead of being copied.
pub(crate) fn user_to_pb(u: User) -> pb::User {
    pb::User {
        id: u.id,
        name: u.name,
        email: u.email,
        role: role_to_pb(u.role) as i32,
        created_at: Some(to_timestamp(u.created_at)),
        updated_at: Some(to_timestamp(u.updated_at)),
    }
}
