//! Content-addressed staged pipeline engine: config, unit keys, store, planner, executor, SQL.
