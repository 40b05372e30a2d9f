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

pub(crate) fn user_to_pb(u: &User) -> pb::User {
    pb::User {
        id: u.id.clone(),
        name: u.name.clone(),
        email: u.email.clone(),
        role: role_to_pb(u.role) as i32,
        created_at: Some(to_timestamp(u.created_at)),
        updated_at: Some(to_timestamp(u.updated_at)),
    }
}
