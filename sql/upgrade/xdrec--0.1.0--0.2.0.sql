/*
 * xdrec--0.1.0--0.2.0.sql - the upgrade from 0.1.0, built by the Makefile:
 * this file's changes to the schema and the tables, then every re-runnable
 * part of sql/src/ (functions and views, CREATE OR REPLACE), as in the
 * install script. docs/CONTRIBUTING.md, "The install script".
 */

\echo Use "ALTER EXTENSION xdrec UPDATE TO '0.2.0'" to load this file. \quit

