//! Suite cases of the `meta` table: the task-token key.

use super::Database;

pub fn token_key_is_created_once(db: &dyn Database) {
    let store = db.open();
    let key = store.token_key().unwrap();
    assert_ne!(key, [0u8; 32], "the key must be random, not zeroes");
    assert_eq!(store.token_key().unwrap(), key);
    let other_node = db.open();
    assert_eq!(
        other_node.token_key().unwrap(),
        key,
        "every handle shares one key"
    );
    drop((store, other_node));
    assert_eq!(
        db.open().token_key().unwrap(),
        key,
        "the key survives a restart"
    );
}
