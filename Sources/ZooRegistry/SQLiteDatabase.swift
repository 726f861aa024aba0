import CSQLite
import Foundation

/// An error from SQLite, with its message and the statement that failed.
public struct SQLiteError: Error, CustomStringConvertible {
  /// SQLite's result code.
  public let code: Int32
  /// SQLite's message (`sqlite3_errmsg`).
  public let message: String
  /// The SQL that failed, when there was one.
  public let sql: String?
  /// The database file, when known (a full disk names it: `zoo.db: SQLite error 13: database or disk is full`).
  public var path: String?

  /// An error; `path` is the database file.
  public init(code: Int32, message: String, sql: String?, path: String? = nil) {
    self.code = code
    self.message = message
    self.sql = sql
    self.path = path
  }

  /// A one-line description.
  public var description: String {
    let file = path.map { "\($0): " } ?? ""
    if let sql { return file + "SQLite error \(code): \(message) (in: \(sql.trimmingCharacters(in: .whitespacesAndNewlines).prefix(200)))" }
    return file + "SQLite error \(code): \(message)"
  }
}

/// One SQLite value as read from a result row.
public enum SQLValue: Equatable, Sendable {
  case null
  case integer(Int64)
  case real(Double)
  case text(String)
  case blob([UInt8])

  /// The value as the `sqlite3` shell prints it (reals as `%!.15g`, NULL as empty).
  public var shellText: String {
    switch self {
    case .null: return ""
    case .integer(let v): return String(v)
    case .real(let v): return SQLValue.formatReal(v)
    case .text(let s): return s
    case .blob(let b): return String(decoding: b, as: UTF8.self)
    }
  }

  /// The value as a Double when it is numeric.
  public var double: Double? {
    switch self {
    case .integer(let v): Double(v)
    case .real(let v): v
    default: nil
    }
  }

  /// The value as text (numbers formatted as the shell does), nil for NULL.
  public var string: String? { self == .null ? nil : shellText }

  /// `%!.15g`: SQLite's rendering of a REAL, which always shows a decimal point.
  static func formatReal(_ v: Double) -> String {
    if v.isNaN { return "NaN" }
    if v.isInfinite { return v > 0 ? "Inf" : "-Inf" }
    var s = String(format: "%.15g", v)
    if !s.contains(".") {
      if let e = s.firstIndex(where: { $0 == "e" }) { s.insert(contentsOf: ".0", at: e) } else { s += ".0" }
    }
    return s
  }
}

/// A thin wrapper over one `sqlite3*` connection. Not thread-safe: one connection per thread.
public final class SQLiteDatabase {
  let handle: OpaquePointer
  /// Path of the database file.
  public let path: String

  /// Opens (creating if needed) the database at `path`, with a busy timeout.
  public init(path: String, readOnly: Bool = false, busyTimeoutMilliseconds: Int32 = 30_000) throws {
    var db: OpaquePointer?
    let flags = readOnly
      ? SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
      : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
    let rc = sqlite3_open_v2(path, &db, flags, nil)
    guard rc == SQLITE_OK, let db else {
      let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
      if let db { sqlite3_close_v2(db) }
      throw SQLiteError(code: rc, message: "cannot open \(path): \(message)", sql: nil)
    }
    handle = db
    self.path = path
    sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
    sqlite3_extended_result_codes(db, 1)
  }

  deinit { sqlite3_close_v2(handle) }

  /// Runs one or more statements that return no rows.
  public func execute(_ sql: String) throws {
    var error: UnsafeMutablePointer<CChar>?
    let rc = sqlite3_exec(handle, sql, nil, nil, &error)
    if rc != SQLITE_OK {
      let message = error.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
      sqlite3_free(error)
      throw SQLiteError(code: rc, message: message + systemReason(rc), sql: sql, path: path)
    }
  }

  /// Compiles one statement.
  public func prepare(_ sql: String) throws -> SQLiteStatement {
    var statement: OpaquePointer?
    let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
    guard rc == SQLITE_OK, let statement else { throw error(rc, sql: sql) }
    return SQLiteStatement(database: self, statement: statement, sql: sql)
  }

  /// Runs `body` inside `BEGIN IMMEDIATE ... COMMIT` (rolled back if it throws).
  public func immediateTransaction<T>(_ body: () throws -> T) throws -> T {
    try execute("BEGIN IMMEDIATE")
    do {
      let result = try body()
      try execute("COMMIT")
      return result
    } catch {
      try? execute("ROLLBACK")
      throw error
    }
  }

  /// Rowid of the last insert on this connection.
  public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

  /// Rows changed by the last statement.
  public var changes: Int { Int(sqlite3_changes(handle)) }

  func error(_ rc: Int32, sql: String?) -> SQLiteError {
    SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(handle)) + systemReason(rc), sql: sql, path: path)
  }

  /// For I/O errors and a full disk, the system's reason (`: No space left on device`), which
  /// SQLite's own message ("disk I/O error") does not give.
  private func systemReason(_ rc: Int32) -> String {
    let primary = rc & 0xff
    guard primary == SQLITE_IOERR || primary == SQLITE_FULL || primary == SQLITE_CANTOPEN else { return "" }
    let code = sqlite3_system_errno(handle)
    return code == 0 ? "" : ": " + String(cString: strerror(code))
  }

  /// Runs an arbitrary read query and returns its column names and rows.
  public func query(_ sql: String, _ arguments: [SQLValue] = []) throws -> (columns: [String], rows: [[SQLValue]]) {
    let statement = try prepare(sql)
    try statement.bind(arguments)
    var rows: [[SQLValue]] = []
    while try statement.step() { rows.append((0..<statement.columnCount).map { statement.value($0) }) }
    return (statement.columnNames, rows)
  }
}

/// A prepared statement; bind, then `step()` or `run()`. Reset after `run()` so it can be reused.
public final class SQLiteStatement {
  let database: SQLiteDatabase
  let statement: OpaquePointer
  let sql: String

  init(database: SQLiteDatabase, statement: OpaquePointer, sql: String) {
    self.database = database
    self.statement = statement
    self.sql = sql
  }

  deinit { sqlite3_finalize(statement) }

  /// Binds values to parameters 1...n (resetting the statement first).
  public func bind(_ values: [SQLValue]) throws {
    sqlite3_reset(statement)
    sqlite3_clear_bindings(statement)
    let expected = Int(sqlite3_bind_parameter_count(statement))
    guard values.count == expected else {
      throw SQLiteError(code: SQLITE_RANGE, message: "statement takes \(expected) parameter(s), got \(values.count)", sql: sql)
    }
    for (i, value) in values.enumerated() { try bind(value, at: Int32(i + 1)) }
  }

  /// Binds one value at a 1-based index.
  public func bind(_ value: SQLValue, at index: Int32) throws {
    let rc: Int32
    switch value {
    case .null: rc = sqlite3_bind_null(statement, index)
    case .integer(let v): rc = sqlite3_bind_int64(statement, index, v)
    case .real(let v): rc = v.isNaN ? sqlite3_bind_null(statement, index) : sqlite3_bind_double(statement, index, v)
    case .text(let s): rc = sqlite3_bind_text(statement, index, s, -1, csqlite_transient())
    case .blob(let b):
      rc = b.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), csqlite_transient()) }
    }
    if rc != SQLITE_OK { throw database.error(rc, sql: sql) }
  }

  /// Steps once; true while a row is available.
  public func step() throws -> Bool {
    let rc = sqlite3_step(statement)
    if rc == SQLITE_ROW { return true }
    if rc == SQLITE_DONE { return false }
    let error = database.error(rc, sql: sql)
    sqlite3_reset(statement)
    throw error
  }

  /// Binds `values`, steps to completion and resets.
  public func run(_ values: [SQLValue] = []) throws {
    try bind(values)
    while try step() {}
    sqlite3_reset(statement)
  }

  /// Number of result columns.
  public var columnCount: Int { Int(sqlite3_column_count(statement)) }

  /// Result column names.
  public var columnNames: [String] { (0..<columnCount).map { String(cString: sqlite3_column_name(statement, Int32($0))) } }

  /// The value of column `index` of the current row.
  public func value(_ index: Int) -> SQLValue {
    let i = Int32(index)
    switch sqlite3_column_type(statement, i) {
    case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, i))
    case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, i))
    case SQLITE_TEXT: return .text(String(cString: sqlite3_column_text(statement, i)))
    case SQLITE_BLOB:
      let count = Int(sqlite3_column_bytes(statement, i))
      guard count > 0, let p = sqlite3_column_blob(statement, i) else { return .blob([]) }
      return .blob(Array(UnsafeRawBufferPointer(start: p, count: count)))
    default: return .null
    }
  }

  /// Column `index` as Int64 (0 for NULL).
  public func int(_ index: Int) -> Int64 { sqlite3_column_int64(statement, Int32(index)) }
  /// Column `index` as text, nil for NULL.
  public func text(_ index: Int) -> String? {
    guard let p = sqlite3_column_text(statement, Int32(index)) else { return nil }
    return String(cString: p)
  }
  /// Column `index` as Double, nil for NULL.
  public func double(_ index: Int) -> Double? {
    sqlite3_column_type(statement, Int32(index)) == SQLITE_NULL ? nil : sqlite3_column_double(statement, Int32(index))
  }
}
