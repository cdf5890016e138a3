import type { FunctionType } from "../module-imports.ts";
import { onlyFunctionType } from "./function-type-text.ts";

export const WASI_MODULE = "wasi_snapshot_preview1";

function sig(params: string, results = "i32"): readonly FunctionType[] {
  return onlyFunctionType(params, results);
}

/**
 * Every WASI preview 1 function with its declared type (alone in a list, as the `nx` table's
 * accepted types); all return an errno except proc_exit.
 */
export const WASI_FUNCTION_SIGNATURES: ReadonlyMap<string, readonly FunctionType[]> = new Map([
  ["args_get", sig("i32 i32")],
  ["args_sizes_get", sig("i32 i32")],
  ["environ_get", sig("i32 i32")],
  ["environ_sizes_get", sig("i32 i32")],
  ["clock_res_get", sig("i32 i32")],
  ["clock_time_get", sig("i32 i64 i32")],
  ["fd_advise", sig("i32 i64 i64 i32")],
  ["fd_allocate", sig("i32 i64 i64")],
  ["fd_close", sig("i32")],
  ["fd_datasync", sig("i32")],
  ["fd_fdstat_get", sig("i32 i32")],
  ["fd_fdstat_set_flags", sig("i32 i32")],
  ["fd_fdstat_set_rights", sig("i32 i64 i64")],
  ["fd_filestat_get", sig("i32 i32")],
  ["fd_filestat_set_size", sig("i32 i64")],
  ["fd_filestat_set_times", sig("i32 i64 i64 i32")],
  ["fd_pread", sig("i32 i32 i32 i64 i32")],
  ["fd_prestat_get", sig("i32 i32")],
  ["fd_prestat_dir_name", sig("i32 i32 i32")],
  ["fd_pwrite", sig("i32 i32 i32 i64 i32")],
  ["fd_read", sig("i32 i32 i32 i32")],
  ["fd_readdir", sig("i32 i32 i32 i64 i32")],
  ["fd_renumber", sig("i32 i32")],
  ["fd_seek", sig("i32 i64 i32 i32")],
  ["fd_sync", sig("i32")],
  ["fd_tell", sig("i32 i32")],
  ["fd_write", sig("i32 i32 i32 i32")],
  ["path_create_directory", sig("i32 i32 i32")],
  ["path_filestat_get", sig("i32 i32 i32 i32 i32")],
  ["path_filestat_set_times", sig("i32 i32 i32 i32 i64 i64 i32")],
  ["path_link", sig("i32 i32 i32 i32 i32 i32 i32")],
  ["path_open", sig("i32 i32 i32 i32 i32 i64 i64 i32 i32")],
  ["path_readlink", sig("i32 i32 i32 i32 i32 i32")],
  ["path_remove_directory", sig("i32 i32 i32")],
  ["path_rename", sig("i32 i32 i32 i32 i32 i32")],
  ["path_symlink", sig("i32 i32 i32 i32 i32")],
  ["path_unlink_file", sig("i32 i32 i32")],
  ["poll_oneoff", sig("i32 i32 i32 i32")],
  ["proc_exit", sig("i32", "")],
  ["proc_raise", sig("i32")],
  ["sched_yield", sig("")],
  ["random_get", sig("i32 i32")],
  ["sock_accept", sig("i32 i32 i32")],
  ["sock_recv", sig("i32 i32 i32 i32 i32 i32")],
  ["sock_send", sig("i32 i32 i32 i32 i32")],
  ["sock_shutdown", sig("i32 i32")],
]);

export const WASI_FUNCTION_NAMES: ReadonlySet<string> = new Set(WASI_FUNCTION_SIGNATURES.keys());
