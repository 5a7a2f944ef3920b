import DirSyncCore
import DirSyncTestSupport
import Foundation
import Testing

/// Parses `jobs/terraform/*.tf` with python-hcl2 (scripts/test installs it from PyPI) and checks the
/// app registration against ``GraphPermission``: exactly the four read-only Graph application
/// permissions, multi-tenant, and a federated credential for the CronJob's service account, no secret.
@Suite("Terraform app registration kit", .enabled(if: TerraformKit.parserAvailable || TestEnvironment.isCI))
struct TerraformKitTests {
    @Test("the kit registers exactly the four permissions and trusts only the CronJob's service account")
    func kitIsRight() throws {
        let problems = TerraformKit.problems(try TerraformKit.parse(try TerraformKit.kitText()))
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test("removing a permission, adding one, or adding write access is caught")
    func mutationsAreCaught() throws {
        let text = try TerraformKit.kitText()
        let block = """
                resource_access {
                  id   = "98830695-27a2-44f7-8c18-0c3ebc9698f6"
                  type = "Role"
                }
            """
        #expect(text.contains(block), "the test's mutation anchor moved")
        let removed = text.replacingOccurrences(of: block, with: "")
        #expect(TerraformKit.problems(try TerraformKit.parse(removed)).contains { $0.contains("GroupMember.Read.All") })

        let mailRead = block.replacingOccurrences(of: "98830695-27a2-44f7-8c18-0c3ebc9698f6", with: "810c84a8-4a9e-49e6-bf7d-12d183f40d01")
        let added = text.replacingOccurrences(of: block, with: block + "\n" + mailRead)
        #expect(TerraformKit.problems(try TerraformKit.parse(added)).contains { $0.contains("810c84a8-4a9e-49e6-bf7d-12d183f40d01") })

        let delegated = text.replacingOccurrences(of: block, with: block.replacingOccurrences(of: "\"Role\"", with: "\"Scope\""))
        #expect(!TerraformKit.problems(try TerraformKit.parse(delegated)).isEmpty)

        let secret = text + "\nresource \"azuread_application_password\" \"oops\" {\n  application_id = azuread_application.dirsync.id\n}\n"
        #expect(TerraformKit.problems(try TerraformKit.parse(secret)).contains { $0.contains("secret") })

        let otherSubject = text.replacingOccurrences(of: "subject        = var.service_account_subject", with: "subject        = \"system:serviceaccount:default:default\"")
        #expect(TerraformKit.problems(try TerraformKit.parse(otherSubject)).contains { $0.contains("subject") })
    }
}

enum TerraformKit {
    static var directory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("jobs/terraform")
    }

    /// All `.tf` files of the kit, concatenated (HCL allows that: blocks are order-free).
    static func kitText() throws -> String {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".tf") }.sorted()
        return try files.map { try String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8) }.joined(separator: "\n")
    }

    /// Normalises python-hcl2's output across versions: no quotes around strings or labels, no metadata keys.
    private static let script = """
        import hcl2, json, sys
        def unquote(s):
            return s[1:-1] if isinstance(s, str) and len(s) >= 2 and s[0] == '"' and s[-1] == '"' else s
        def norm(v):
            if isinstance(v, dict):
                return {unquote(k): norm(x) for k, x in v.items() if not k.startswith('__')}
            if isinstance(v, list):
                return [norm(x) for x in v]
            return unquote(v)
        print(json.dumps(norm(hcl2.loads(sys.stdin.read()))))
        """

    static let parserAvailable: Bool = (try? run(["-c", "import hcl2"], input: "").status) == 0

    struct Failed: Error, CustomStringConvertible { var description: String }

    static func parse(_ text: String) throws -> [String: Any] {
        let (status, output, errors) = try run(["-c", script], input: text)
        guard status == 0 else { throw Failed(description: "python-hcl2 could not parse the kit: \(errors)") }
        guard let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] else {
            throw Failed(description: "python-hcl2 printed no object")
        }
        return object
    }

    private static func run(_ arguments: [String], input: String) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        (process.standardInput, process.standardOutput, process.standardError) = (stdin, stdout, stderr)
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: errors, as: UTF8.self))
    }

    /// Blocks of one type, flattened: `{"resource": [{"azuread_application": {"dirsync": {...}}}]}` → name → body.
    private static func labelled(_ root: [String: Any], _ kind: String, _ type: String) -> [String: [String: Any]] {
        var result: [String: [String: Any]] = [:]
        for entry in root[kind] as? [[String: Any]] ?? [] {
            for (name, body) in entry[type] as? [String: Any] ?? [:] { result[name] = body as? [String: Any] }
        }
        return result
    }

    private static func blocks(_ body: [String: Any], _ name: String) -> [[String: Any]] {
        body[name] as? [[String: Any]] ?? (body[name] as? [String: Any]).map { [$0] } ?? []
    }

    /// Everything wrong with the parsed kit; empty when it is right.
    static func problems(_ root: [String: Any]) -> [String] {
        var problems: [String] = []
        var locals: [String: Any] = [:]
        for entry in root["locals"] as? [[String: Any]] ?? [] { locals.merge(entry) { $1 } }
        func resolve(_ value: Any?) -> String? {
            guard let text = value as? String else { return nil }
            if text.hasPrefix("${local."), text.hasSuffix("}") { return locals[String(text.dropFirst(8).dropLast())] as? String }
            return text
        }
        let resources = root["resource"] as? [[String: Any]] ?? []
        let types = Set(resources.flatMap(\.keys))
        for forbidden in ["azuread_application_password", "azuread_application_certificate", "azuread_service_principal_password",
                          "azuread_service_principal_certificate"] where types.contains(forbidden) {
            problems.append("\(forbidden) creates a secret or certificate; the kit must rely on the federated credential only")
        }

        let apps = labelled(root, "resource", "azuread_application")
        guard apps.count == 1, let (appName, app) = apps.first else { return problems + ["expected exactly one azuread_application, found \(apps.count)"] }
        if app["sign_in_audience"] as? String != "AzureADMultipleOrgs" { problems.append("sign_in_audience must be AzureADMultipleOrgs (multi-tenant)") }
        if !blocks(app, "password").isEmpty { problems.append("the application declares a password block: a secret") }

        var granted: [(id: String, type: String)] = []
        for access in blocks(app, "required_resource_access") {
            guard resolve(access["resource_app_id"]) == GraphPermission.graphApplicationID else {
                problems.append("permissions of another API than Microsoft Graph: \(access["resource_app_id"] ?? "?")")
                continue
            }
            granted += blocks(access, "resource_access").map { (resolve($0["id"]) ?? "?", resolve($0["type"]) ?? "?") }
        }
        let names = Dictionary(uniqueKeysWithValues: GraphPermission.allCases.map { ($0.appRoleID, $0.rawValue) })
        for permission in GraphPermission.allCases where !granted.contains(where: { $0.id == permission.appRoleID }) {
            problems.append("missing the application permission \(permission.rawValue) (\(permission.appRoleID))")
        }
        for extra in granted where names[extra.id] == nil { problems.append("an extra permission \(extra.id): dirsync needs exactly the four read-only ones") }
        for entry in granted where entry.type != "Role" { problems.append("\(names[entry.id] ?? entry.id) has type \(entry.type); application permissions are type Role") }
        if granted.count != Set(granted.map(\.id)).count { problems.append("a permission is listed twice") }

        let credentials = labelled(root, "resource", "azuread_application_federated_identity_credential")
        if credentials.count != 1 { problems.append("expected exactly one federated identity credential, found \(credentials.count)") }
        for (_, credential) in credentials {
            if (credential["application_id"] as? String) != "${azuread_application.\(appName).id}" { problems.append("the federated credential is not on the dirsync application") }
            if (credential["audiences"] as? [String]) != ["api://AzureADTokenExchange"] { problems.append("the federated credential's audience must be exactly api://AzureADTokenExchange") }
            if credential["issuer"] as? String != "${var.oidc_issuer_url}" { problems.append("the federated credential's issuer must be var.oidc_issuer_url") }
            if credential["subject"] as? String != "${var.service_account_subject}" { problems.append("the federated credential's subject must be var.service_account_subject") }
        }
        let subjectDefault = (root["variable"] as? [[String: Any]] ?? []).compactMap { ($0["service_account_subject"] as? [String: Any])?["default"] as? String }.first
        if subjectDefault != "system:serviceaccount:dirsync:dirsync" {
            problems.append("the subject variable must default to the CronJob's service account, system:serviceaccount:dirsync:dirsync (got \(subjectDefault ?? "none"))")
        }
        let issuer = (root["variable"] as? [[String: Any]] ?? []).compactMap { $0["oidc_issuer_url"] as? [String: Any] }.first
        if issuer == nil { problems.append("no oidc_issuer_url variable") } else if issuer?["default"] != nil { problems.append("oidc_issuer_url must have no default: every cluster has its own") }
        return problems
    }
}
