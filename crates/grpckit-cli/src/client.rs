//! `grpckit client`: signs up, logs in and runs every unary method of both services,
//! printing one line per call. Fails (non-zero exit) if any call that should succeed fails
//! or an expected error does not come back.

use std::{fmt::Write as _, time::Duration};

use grpckit_services::proto::{order::v1 as orderpb, user::v1 as userpb};
use tonic::Code;

use crate::{
    args::ClientArgs,
    session::{Session, timed},
};

/// One reported call.
#[derive(Debug, Clone)]
pub struct CallLine {
    /// `Service/Method`.
    pub method: String,
    /// Resulting code.
    pub code: Code,
    /// Whether the code was the expected one.
    pub ok: bool,
    /// Latency.
    pub latency: Duration,
}

/// Collects lines and prints them as they come.
#[derive(Debug, Default)]
pub struct Report {
    /// Every call.
    pub lines: Vec<CallLine>,
}

impl Report {
    fn record<T>(
        &mut self,
        method: &str,
        expect: Code,
        res: &Result<T, tonic::Status>,
        latency: Duration,
    ) {
        let code = match res {
            Ok(_) => Code::Ok,
            Err(s) => s.code(),
        };
        let ok = code == expect;
        let mut line = format!(
            "{:<4} {:<34} {:<20} {:>9.2} ms",
            if ok { "ok" } else { "FAIL" },
            method,
            grpckit::error::code_name(code),
            latency.as_secs_f64() * 1e3
        );
        if let (false, Err(s)) = (ok, res) {
            let _ = write!(
                line,
                "  (expected {}: {})",
                grpckit::error::code_name(expect),
                s.message()
            );
        }
        println!("{line}");
        self.lines.push(CallLine {
            method: method.into(),
            code,
            ok,
            latency,
        });
    }

    /// Whether every call matched its expectation.
    pub fn passed(&self) -> bool {
        self.lines.iter().all(|l| l.ok)
    }
}

macro_rules! call {
    ($report:expr, $name:literal, $expect:expr, $fut:expr) => {{
        let (res, lat) = timed($fut).await;
        $report.record($name, $expect, &res, lat);
        res.map(|r| r.into_inner())
    }};
}

/// Runs the scenario; returns the report (the caller decides the exit code).
pub async fn run(args: &ClientArgs) -> anyhow::Result<Report> {
    let mut s = Session::connect(&args.addr, args.timeout).await?;
    let mut r = Report::default();
    let email = format!("client-{}@example.com", uuid::Uuid::new_v4().simple());
    let password = "correct-horse-battery".to_owned();

    let user = call!(
        r,
        "user.v1.UserService/CreateUser",
        Code::Ok,
        s.users.create_user(s.req(userpb::CreateUserRequest {
            name: "CLI Client".into(),
            email: email.clone(),
            password: password.clone()
        }))
    )
    .ok()
    .and_then(|u| u.user);
    let _ = call!(
        r,
        "user.v1.UserService/CreateUser (dup)",
        Code::AlreadyExists,
        s.users.create_user(s.req(userpb::CreateUserRequest {
            name: "CLI Client".into(),
            email: email.clone(),
            password: password.clone()
        }))
    );
    if let Ok(login) = call!(
        r,
        "user.v1.UserService/Login",
        Code::Ok,
        s.users.login(s.req(userpb::LoginRequest {
            email: email.clone(),
            password: password.clone()
        }))
    ) {
        s.token = Some(login.access_token);
    }
    let _ = call!(
        r,
        "user.v1.UserService/Login (bad password)",
        Code::Unauthenticated,
        s.users.login(s.req(userpb::LoginRequest {
            email: email.clone(),
            password: "wrong-password".into()
        }))
    );
    let Some(user) = user else {
        anyhow::bail!("CreateUser failed; cannot continue");
    };
    let _ = call!(
        r,
        "user.v1.UserService/GetUser",
        Code::Ok,
        s.users.get_user(s.req(userpb::GetUserRequest {
            id: user.id.clone()
        }))
    );
    let _ = call!(
        r,
        "user.v1.UserService/UpdateUser",
        Code::Ok,
        s.users.update_user(s.req(userpb::UpdateUserRequest {
            id: user.id.clone(),
            name: Some("CLI Client (renamed)".into()),
            ..Default::default()
        }))
    );
    // ListUsers is admin-only: a normal user gets PERMISSION_DENIED; with
    // GRPCKIT_ADMIN_EMAIL/GRPCKIT_ADMIN_PASSWORD set the call is repeated as admin (expect OK).
    let list = userpb::ListUsersRequest {
        page_size: 10,
        page_token: String::new(),
    };
    // A server started with `--no-auth` answers without credentials; there a normal user
    // may list users too, so that is what to expect.
    let mut anon = s.clone();
    anon.token = None;
    let auth_off = anon
        .users
        .get_user(anon.req(userpb::GetUserRequest {
            id: user.id.clone(),
        }))
        .await
        .is_ok();
    if auth_off {
        println!("note: the server answers without credentials (auth disabled)");
    }
    let _ = call!(
        r,
        "user.v1.UserService/ListUsers (as user)",
        if auth_off {
            Code::Ok
        } else {
            Code::PermissionDenied
        },
        s.users.list_users(s.req(list.clone()))
    );
    if let (Ok(e), Ok(p)) = (
        std::env::var("GRPCKIT_ADMIN_EMAIL"),
        std::env::var("GRPCKIT_ADMIN_PASSWORD"),
    ) && let Ok(login) = call!(
        r,
        "user.v1.UserService/Login (admin)",
        Code::Ok,
        s.users.login(s.req(userpb::LoginRequest {
            email: e,
            password: p
        }))
    ) {
        let mut admin = s.clone();
        admin.token = Some(login.access_token);
        let _ = call!(
            r,
            "user.v1.UserService/ListUsers (as admin)",
            Code::Ok,
            admin.users.list_users(admin.req(list))
        );
    }

    let item = orderpb::OrderItem {
        sku: "SKU-1".into(),
        quantity: 2,
        unit_price_minor: 1250,
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    let create = orderpb::CreateOrderRequest {
        request_id: request_id.clone(),
        user_id: user.id.clone(),
        items: vec![item.clone()],
        currency: "USD".into(),
    };
    let order = call!(
        r,
        "order.v1.OrderService/CreateOrder",
        Code::Ok,
        s.orders.create_order(s.req(create.clone()))
    )
    .ok()
    .and_then(|o| o.order);
    let again = call!(
        r,
        "order.v1.OrderService/CreateOrder (retry)",
        Code::Ok,
        s.orders.create_order(s.req(create))
    )
    .ok()
    .and_then(|o| o.order);
    if let (Some(a), Some(b)) = (&order, &again)
        && a.id != b.id
    {
        {
            println!("FAIL idempotent CreateOrder returned a second order");
            r.lines.push(CallLine {
                method: "CreateOrder idempotency".into(),
                code: Code::Ok,
                ok: false,
                latency: Duration::ZERO,
            });
        }
    }
    if let Some(order) = order {
        let _ = call!(
            r,
            "order.v1.OrderService/GetOrder",
            Code::Ok,
            s.orders.get_order(s.req(orderpb::GetOrderRequest {
                id: order.id.clone()
            }))
        );
        let _ = call!(
            r,
            "order.v1.OrderService/ListOrders",
            Code::Ok,
            s.orders.list_orders(s.req(orderpb::ListOrdersRequest {
                user_id: user.id.clone(),
                page_size: 10,
                page_token: String::new()
            }))
        );
        let _ = call!(
            r,
            "order.v1.OrderService/PayOrder",
            Code::Ok,
            s.orders.pay_order(s.req(orderpb::PayOrderRequest {
                id: order.id.clone(),
                amount_minor: order.total_minor,
                payment_method: "card".into()
            }))
        );
        let _ = call!(
            r,
            "order.v1.OrderService/PayOrder (again)",
            Code::FailedPrecondition,
            s.orders.pay_order(s.req(orderpb::PayOrderRequest {
                id: order.id.clone(),
                amount_minor: 0,
                payment_method: "card".into()
            }))
        );
    }
    let second = orderpb::CreateOrderRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        user_id: user.id.clone(),
        items: vec![item],
        currency: "EUR".into(),
    };
    if let Some(o) = call!(
        r,
        "order.v1.OrderService/CreateOrder",
        Code::Ok,
        s.orders.create_order(s.req(second))
    )
    .ok()
    .and_then(|o| o.order)
    {
        let _ = call!(
            r,
            "order.v1.OrderService/CancelOrder",
            Code::Ok,
            s.orders.cancel_order(s.req(orderpb::CancelOrderRequest {
                id: o.id,
                reason: "changed my mind".into()
            }))
        );
    }
    let _ = call!(
        r,
        "order.v1.OrderService/GetOrder (missing)",
        Code::NotFound,
        s.orders.get_order(s.req(orderpb::GetOrderRequest {
            id: "does-not-exist".into()
        }))
    );
    let _ = call!(
        r,
        "user.v1.UserService/DeleteUser",
        Code::Ok,
        s.users.delete_user(s.req(userpb::DeleteUserRequest {
            id: user.id.clone()
        }))
    );
    let ok = r.lines.iter().filter(|l| l.ok).count();
    println!("{ok}/{} calls as expected", r.lines.len());
    Ok(r)
}
