//! One repository suite, run against SQLite and PostgreSQL.

use std::sync::Arc;

use grpckit_services::{
    ServiceError,
    domain::{
        order::{Item, OrderStatus, check_new_order},
        user::{Role, User},
    },
    reasons,
    store::{CreateOutcome, OrderStore, SqlStore, UserPatch, UserStore},
};

fn user(id: &str, email: &str) -> User {
    User {
        id: id.into(),
        name: "N".into(),
        email: email.into(),
        password_hash: "$argon2id$fake".into(),
        role: Role::User,
        created_at: 1,
        updated_at: 1,
    }
}

async fn suite(store: SqlStore) {
    // Users: insert, unique email, get, patch, list, delete.
    store.insert_user(&user("u-1", "a@x.io")).await.unwrap();
    store.insert_user(&user("u-2", "b@x.io")).await.unwrap();
    let dup = store.insert_user(&user("u-3", "a@x.io")).await.unwrap_err();
    assert!(
        matches!(dup, ServiceError::AlreadyExists(r, _) if r == reasons::EMAIL_TAKEN),
        "{dup:?}"
    );
    assert_eq!(
        store.get_user("u-1").await.unwrap().unwrap().email,
        "a@x.io"
    );
    assert_eq!(
        store.get_user_by_email("b@x.io").await.unwrap().unwrap().id,
        "u-2"
    );
    assert!(store.get_user("nope").await.unwrap().is_none());
    let patched = store
        .update_user(
            "u-1",
            UserPatch {
                name: Some("Renamed".into()),
                role: Some(Role::Admin),
                ..UserPatch::default()
            },
            5,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (patched.name.as_str(), patched.role, patched.updated_at),
        ("Renamed", Role::Admin, 5)
    );
    let clash = store
        .update_user(
            "u-2",
            UserPatch {
                email: Some("a@x.io".into()),
                ..UserPatch::default()
            },
            6,
        )
        .await
        .unwrap_err();
    assert!(matches!(clash, ServiceError::AlreadyExists(r, _) if r == reasons::EMAIL_TAKEN));
    assert!(
        store
            .update_user("nope", UserPatch::default(), 1)
            .await
            .unwrap()
            .is_none()
    );
    let page = store.list_users(None, 1).await.unwrap();
    assert_eq!(page.len(), 1);
    let rest = store.list_users(Some(&page[0].id), 10).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert!(store.delete_user("u-2").await.unwrap());
    assert!(!store.delete_user("u-2").await.unwrap());

    // Orders: idempotent create, concurrent duplicates, transitions, due orders, listing.
    let items = vec![Item {
        sku: "S".into(),
        quantity: 2,
        unit_price_minor: 250,
    }];
    let new = check_new_order("req-1", "u-1", items.clone(), "EUR").unwrap();
    let first = store.create_order("o-1", &new, 10).await.unwrap();
    assert!(matches!(first, CreateOutcome::Created(_)));
    assert_eq!(first.order().total_minor, 500);
    let again = store.create_order("o-other", &new, 11).await.unwrap();
    assert!(matches!(&again, CreateOutcome::Replayed(o) if o.id == "o-1"));
    let other_payload = check_new_order(
        "req-1",
        "u-1",
        vec![Item {
            quantity: 3,
            ..items[0].clone()
        }],
        "EUR",
    )
    .unwrap();
    assert!(matches!(
        store
            .create_order("o-3", &other_payload, 12)
            .await
            .unwrap_err(),
        ServiceError::AlreadyExists(r, _) if r == reasons::IDEMPOTENCY_CONFLICT
    ));

    let shared = Arc::new(store.clone());
    let dup = check_new_order("req-race", "u-1", items.clone(), "EUR").unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (s, d) = (shared.clone(), dup.clone());
        tasks.push(tokio::spawn(async move {
            s.create_order(&format!("race-{i}"), &d, 20)
                .await
                .map(|o| o.order().id.clone())
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap().unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one winner: {ids:?}");

    let paid = store
        .transition("o-1", OrderStatus::Paid, Some("pay_1"), 30)
        .await
        .unwrap();
    assert_eq!(
        (paid.status, paid.payment_id.as_deref()),
        (OrderStatus::Paid, Some("pay_1"))
    );
    assert!(matches!(
        store
            .transition("o-1", OrderStatus::Paid, None, 31)
            .await
            .unwrap_err(),
        ServiceError::FailedPrecondition(r, _) if r == reasons::ORDER_NOT_PAYABLE
    ));
    assert!(matches!(
        store
            .transition("nope", OrderStatus::Paid, None, 31)
            .await
            .unwrap_err(),
        ServiceError::NotFound(r, _) if r == reasons::ORDER_NOT_FOUND
    ));
    let due = store.due_orders(OrderStatus::Paid, 30, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert!(
        store
            .due_orders(OrderStatus::Paid, 29, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let shipped = store
        .transition("o-1", OrderStatus::Shipped, None, 40)
        .await
        .unwrap();
    assert_eq!(
        shipped.payment_id.as_deref(),
        Some("pay_1"),
        "payment id kept"
    );
    assert!(matches!(
        store
            .transition("o-1", OrderStatus::Cancelled, None, 41)
            .await
            .unwrap_err(),
        ServiceError::FailedPrecondition(r, _) if r == reasons::ORDER_NOT_CANCELLABLE
    ));
    let got = store.get_order("o-1").await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.items, got.currency.as_str()),
        (OrderStatus::Shipped, items, "EUR")
    );

    assert_eq!(
        store
            .list_orders(Some("u-1"), None, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store
            .list_orders(Some("u-9"), None, 10)
            .await
            .unwrap()
            .len(),
        0
    );
    let p1 = store.list_orders(None, None, 1).await.unwrap();
    let p2 = store.list_orders(None, Some(&p1[0].id), 10).await.unwrap();
    assert_eq!(p1.len() + p2.len(), 2);
}

#[tokio::test]
async fn sqlite_file_is_created_and_passes_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh.db");
    assert!(!path.exists());
    let store = SqlStore::connect(&format!("sqlite://{}", path.display()), 5, 1)
        .await
        .unwrap();
    assert!(path.exists(), "created on first run");
    suite(store).await;
    // Migrations are idempotent: reopening the same file works and keeps data.
    let again = SqlStore::connect(&format!("sqlite://{}", path.display()), 2, 1)
        .await
        .unwrap();
    assert!(again.get_user("u-1").await.unwrap().is_some());
}

#[tokio::test]
async fn postgres_passes_the_suite() {
    let Some(db) = grpckit_app_test::postgres_or_skip("postgres_passes_the_suite").await else {
        return;
    };
    let store = SqlStore::connect(&db.url, 10, 1).await.unwrap();
    suite(store.clone()).await;
    store.pool().close().await;
    db.drop_db().await.unwrap();
}

#[tokio::test]
async fn postgres_server_end_to_end() {
    let Some(db) = grpckit_app_test::postgres_or_skip("postgres_server_end_to_end").await else {
        return;
    };
    let url = db.url.clone();
    let srv = grpckit_app_test::TestServer::start_with(move |c| c.database.url = url)
        .await
        .unwrap();
    let report = grpckit_cli::client::run(&grpckit_cli::args::ClientArgs {
        addr: srv.addr.to_string(),
        timeout: std::time::Duration::from_secs(30),
    })
    .await
    .unwrap();
    assert!(report.passed());
    srv.stop().await.unwrap();
    db.drop_db().await.unwrap();
}
