//! Stable customer pseudonyms: a keyed hash of `customer_ref`, which is all that roles without
//! access to PII see of a customer. The same customer always gets the same key, so analysts and
//! auditors can follow repeat contacts without learning who the customer is.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Computes pseudonyms with one key.
#[derive(Clone)]
pub struct Pseudonymizer {
    key: Vec<u8>,
}

impl Pseudonymizer {
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    /// `cust_` followed by 24 hex digits of HMAC-SHA256(key, customer_ref).
    pub fn customer_key(&self, customer_ref: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC accepts any key length");
        mac.update(customer_ref.as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("cust_{}", hex::encode(&digest[..12]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_per_key_and_reference() {
        let one = Pseudonymizer::new(b"key one key one key one key one!!");
        let two = Pseudonymizer::new(b"key two key two key two key two!!");
        assert_eq!(one.customer_key("CRM-1"), one.customer_key("CRM-1"));
        assert_ne!(one.customer_key("CRM-1"), one.customer_key("CRM-2"));
        assert_ne!(one.customer_key("CRM-1"), two.customer_key("CRM-1"));
        assert!(one.customer_key("CRM-1").starts_with("cust_"));
        assert_eq!(one.customer_key("CRM-1").len(), 5 + 24);
    }
}
