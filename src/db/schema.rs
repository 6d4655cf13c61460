// @generated automatically by Diesel CLI.

diesel::table! {
    audit_events (id) {
        id -> Int8,
        occurred_at -> Timestamptz,
        actor_id -> Nullable<Int8>,
        actor_role -> Nullable<Text>,
        action -> Text,
        entity_type -> Text,
        entity_id -> Nullable<Text>,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
        request_id -> Nullable<Text>,
        prev_hash -> Bytea,
        hash -> Bytea,
    }
}

diesel::table! {
    customers (id) {
        id -> Int8,
        customer_ref -> Text,
        business_name -> Nullable<Text>,
        contact_name -> Nullable<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        contact_details_erased_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    interactions (id) {
        id -> Int8,
        source -> Text,
        external_id -> Text,
        channel -> Text,
        org_unit_id -> Int8,
        agent_id -> Nullable<Int8>,
        customer_id -> Nullable<Int8>,
        topic_id -> Nullable<Int8>,
        started_at -> Timestamptz,
        wait_seconds -> Nullable<Int4>,
        handle_seconds -> Nullable<Int4>,
        transfers -> Int4,
        abandoned -> Bool,
        outcome -> Nullable<Text>,
        created_at -> Timestamptz,
        followed_by_assisted_within_7_days -> Bool,
        followed_by_assisted_within_24_hours -> Bool,
    }
}

diesel::table! {
    legal_holds (id) {
        id -> Int8,
        org_unit_id -> Nullable<Int8>,
        customer_id -> Nullable<Int8>,
        interaction_id -> Nullable<Int8>,
        reason -> Text,
        placed_by -> Int8,
        placed_at -> Timestamptz,
        lifted_by -> Nullable<Int8>,
        lifted_at -> Nullable<Timestamptz>,
        lift_reason -> Nullable<Text>,
    }
}

diesel::table! {
    caller_writes (user_id) {
        user_id -> Int8,
        lsn -> Int8,
        written_at -> Timestamptz,
    }
}

diesel::table! {
    metric_settings (singleton) {
        singleton -> Bool,
        time_zone -> Text,
        zone_settled -> Bool,
    }
}

diesel::table! {
    org_units (id) {
        id -> Int8,
        code -> Text,
        name -> Text,
        parent_id -> Nullable<Int8>,
        path -> Array<Nullable<Int8>>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    persisted_documents (sha256) {
        sha256 -> Text,
        body -> Text,
        operation_names -> Array<Nullable<Text>>,
        trusted -> Bool,
        roles -> Nullable<Array<Nullable<Text>>>,
        registered_by -> Nullable<Int8>,
        registered_at -> Timestamptz,
    }
}

diesel::table! {
    rate_limit_counters (key) {
        key -> Text,
        window_start -> Timestamptz,
        hits -> Int4,
        blocked_until -> Nullable<Timestamptz>,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Bytea,
        session_id -> Uuid,
        issued_at -> Timestamptz,
        expires_at -> Timestamptz,
        spent_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    resource_allocations (id) {
        id -> Int8,
        org_unit_id -> Int8,
        channel -> Text,
        period_start -> Date,
        period_end -> Date,
        staff_hours_per_week -> Float8,
        fte -> Float8,
        budget_cents -> Int8,
        status -> Text,
        rationale -> Text,
        proposed_by -> Int8,
        decided_by -> Nullable<Int8>,
        decided_at -> Nullable<Timestamptz>,
        decision_note -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    service_standards (id) {
        id -> Int8,
        metric -> Text,
        comparator -> Text,
        target -> Float8,
        channel -> Nullable<Text>,
        org_unit_id -> Nullable<Int8>,
        threshold_seconds -> Nullable<Int4>,
        effective_from -> Date,
        effective_to -> Nullable<Date>,
        description -> Nullable<Text>,
        created_by -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    session_cookies (token_hash) {
        token_hash -> Bytea,
        session_id -> Uuid,
        role -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        user_id -> Int8,
        kind -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    survey_invitations (id) {
        id -> Int8,
        source -> Nullable<Text>,
        external_id -> Nullable<Text>,
        interaction_id -> Int8,
        kind -> Text,
        sent_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        token_hash -> Nullable<Bytea>,
        responded_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        token_erased_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    survey_responses (id) {
        id -> Int8,
        source -> Nullable<Text>,
        external_id -> Nullable<Text>,
        kind -> Text,
        interaction_id -> Int8,
        invitation_id -> Nullable<Int8>,
        recorded_by -> Nullable<Int8>,
        submitted_at -> Timestamptz,
        satisfaction -> Nullable<Int2>,
        trust -> Nullable<Int2>,
        effectiveness -> Nullable<Int2>,
        ease -> Nullable<Int2>,
        efficiency -> Nullable<Int2>,
        transparency -> Nullable<Int2>,
        helpfulness -> Nullable<Int2>,
        resolved -> Nullable<Bool>,
        comment -> Nullable<Text>,
        created_at -> Timestamptz,
        comment_erased_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    topics (id) {
        id -> Int8,
        code -> Text,
        name -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    training_assignments (id) {
        id -> Int8,
        agent_id -> Int8,
        course_id -> Int8,
        assigned_by -> Int8,
        reason -> Text,
        due_at -> Nullable<Timestamptz>,
        completed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        need -> Nullable<Jsonb>,
    }
}

diesel::table! {
    training_courses (id) {
        id -> Int8,
        code -> Text,
        title -> Text,
        description -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        addressed_metrics -> Array<Nullable<Text>>,
    }
}

diesel::table! {
    users (id) {
        id -> Int8,
        email -> Text,
        display_name -> Text,
        role -> Text,
        org_unit_id -> Int8,
        password_hash -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        external_subject -> Nullable<Text>,
    }
}

diesel::joinable!(audit_events -> users (actor_id));
diesel::joinable!(legal_holds -> customers (customer_id));
diesel::joinable!(legal_holds -> interactions (interaction_id));
diesel::joinable!(legal_holds -> org_units (org_unit_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(resource_allocations -> org_units (org_unit_id));
diesel::joinable!(service_standards -> org_units (org_unit_id));
diesel::joinable!(service_standards -> users (created_by));
diesel::joinable!(persisted_documents -> users (registered_by));
diesel::joinable!(session_cookies -> sessions (session_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(survey_invitations -> interactions (interaction_id));
diesel::joinable!(survey_responses -> interactions (interaction_id));
diesel::joinable!(survey_responses -> survey_invitations (invitation_id));
diesel::joinable!(survey_responses -> users (recorded_by));
diesel::joinable!(training_assignments -> training_courses (course_id));
diesel::joinable!(caller_writes -> users (user_id));
diesel::joinable!(users -> org_units (org_unit_id));

diesel::allow_tables_to_appear_in_same_query!(
    audit_events,
    caller_writes,
    customers,
    interactions,
    legal_holds,
    metric_settings,
    org_units,
    persisted_documents,
    rate_limit_counters,
    refresh_tokens,
    resource_allocations,
    service_standards,
    session_cookies,
    sessions,
    survey_invitations,
    survey_responses,
    topics,
    training_assignments,
    training_courses,
    users,
);
