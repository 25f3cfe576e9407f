-- The platform's warehouse database. Raw streams land here; dbt builds its views and marts beside them.
CREATE DATABASE IF NOT EXISTS onecard;
