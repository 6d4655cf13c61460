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

    /// `login_` followed by 24 hex digits of HMAC-SHA256(key, a label and the address typed):
    /// what the audit trail keeps of a failed sign-in's email address, so repeated attempts
    /// on one address can be followed (and an administrator who has the key can check a
    /// given address) while the trail holds no address. The label keeps it from ever equalling
    /// a customer key.
    pub fn login_email_digest(&self, email: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC accepts any key length");
        mac.update(b"bac-metrics login email\0");
        mac.update(email.trim().to_lowercase().as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("login_{}", hex::encode(&digest[..12]))
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

    #[test]
    fn login_digests_are_keyed_and_normalised() {
        let one = Pseudonymizer::new(b"key one key one key one key one!!");
        let two = Pseudonymizer::new(b"key two key two key two key two!!");
        let digest = one.login_email_digest("Pat@Example.com ");
        assert_eq!(digest, one.login_email_digest("pat@example.com"));
        assert_ne!(digest, two.login_email_digest("pat@example.com"));
        assert!(digest.starts_with("login_") && !digest.contains('@'));
        assert_ne!(&digest[6..], &one.customer_key("pat@example.com")[5..]);
    }
}
