import DirSyncCore
import Foundation
import GraphHTTP
import Testing

@Suite("libcrypto PS256 signer")
struct OpenSSLAssertionSignerTests {
    /// Runs the openssl CLI; returns stdout.
    @discardableResult
    private static func openssl(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = Pipe()
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw GraphError(code: .configuration, message: "openssl \(arguments.first ?? "") failed") }
        return String(decoding: data, as: UTF8.self)
    }

    private static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dirsync-signer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A throwaway self-signed RSA certificate and key; returns (dir, combined PEM path).
    private static func makeCertificate(traditionalKey: Bool = false) throws -> (URL, String) {
        let dir = try temporaryDirectory()
        let key = dir.appendingPathComponent("key.pem").path, cert = dir.appendingPathComponent("cert.pem").path
        try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=dirsync-test"])
        var keyPEM = try String(contentsOfFile: key, encoding: .utf8)
        if traditionalKey {
            keyPEM = try openssl(["rsa", "-in", key, "-traditional"])
        }
        let combined = dir.appendingPathComponent("combined.pem").path
        try (keyPEM + (try String(contentsOfFile: cert, encoding: .utf8))).write(toFile: combined, atomically: true, encoding: .utf8)
        return (dir, combined)
    }

    @Test("the signature is PS256 and verifies with the certificate's public key; x5t#S256 matches openssl's fingerprint", arguments: [false, true])
    func signAndVerify(traditionalKey: Bool) async throws {
        let (dir, pem) = try Self.makeCertificate(traditionalKey: traditionalKey)
        defer { try? FileManager.default.removeItem(at: dir) }
        if traditionalKey { #expect(try String(contentsOfFile: pem, encoding: .utf8).contains("BEGIN RSA PRIVATE KEY")) }
        let signer = try OpenSSLAssertionSigner(pemFile: pem)
        let message = Array("header.claims".utf8)
        let signature = try await signer.signPS256(message)
        #expect(signature.count == 256)

        let messagePath = dir.appendingPathComponent("msg").path, signaturePath = dir.appendingPathComponent("sig").path
        try Data(message).write(to: URL(fileURLWithPath: messagePath))
        try Data(signature).write(to: URL(fileURLWithPath: signaturePath))
        let publicKey = dir.appendingPathComponent("pub.pem").path
        try Self.openssl(["x509", "-in", pem, "-pubkey", "-noout", "-out", publicKey])
        let verified = try Self.openssl(["dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32",
                                         "-verify", publicKey, "-signature", signaturePath, messagePath])
        #expect(verified.contains("Verified OK"))
        // PKCS#1 v1.5 verification must fail: the padding really is PSS.
        #expect(throws: (any Error).self) {
            try Self.openssl(["dgst", "-sha256", "-verify", publicKey, "-signature", signaturePath, messagePath])
        }

        let fingerprint = try Self.openssl(["x509", "-in", pem, "-noout", "-fingerprint", "-sha256"])
        let hex = fingerprint.split(separator: "=").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: ":", with: "") } ?? ""
        let bytes = stride(from: 0, to: hex.count, by: 2).compactMap { offset -> UInt8? in
            let start = hex.index(hex.startIndex, offsetBy: offset)
            return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)
        }
        #expect(bytes.count == 32)
        #expect(signer.certificateThumbprintSHA256 == Base64URL.encode(bytes))
    }

    @Test("a full assertion built in the core with the real signer verifies")
    func assertionVerifies() async throws {
        let (dir, pem) = try Self.makeCertificate()
        defer { try? FileManager.default.removeItem(at: dir) }
        let signer = try OpenSSLAssertionSigner(pemFile: pem)
        let jwt = try await ClientAssertionBuilder().assertion(clientID: "c", audience: "https://login.microsoftonline.com/t/oauth2/v2.0/token", now: Date(), signer: signer).value
        let parts = jwt.split(separator: ".").map(String.init)
        let signature = try #require(Base64URL.decode(parts[2]))
        let messagePath = dir.appendingPathComponent("msg").path, signaturePath = dir.appendingPathComponent("sig").path
        try Data((parts[0] + "." + parts[1]).utf8).write(to: URL(fileURLWithPath: messagePath))
        try Data(signature).write(to: URL(fileURLWithPath: signaturePath))
        let publicKey = dir.appendingPathComponent("pub.pem").path
        try Self.openssl(["x509", "-in", pem, "-pubkey", "-noout", "-out", publicKey])
        #expect(try Self.openssl(["dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:-1",
                                  "-verify", publicKey, "-signature", signaturePath, messagePath]).contains("Verified OK"))
    }

    @Test("clear errors: missing file, no certificate, no key, mismatched key — without key material")
    func loadErrors() throws {
        let (dir, pem) = try Self.makeCertificate()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = try String(contentsOfFile: pem, encoding: .utf8)
        let keyOnly = String(text[..<(text.range(of: "-----BEGIN CERTIFICATE-----")?.lowerBound ?? text.endIndex)])
        let certOnly = String(text[(text.range(of: "-----BEGIN CERTIFICATE-----")?.lowerBound ?? text.startIndex)...])
        let (otherDir, otherPEM) = try Self.makeCertificate()
        defer { try? FileManager.default.removeItem(at: otherDir) }
        let otherText = try String(contentsOfFile: otherPEM, encoding: .utf8)
        let otherKey = String(otherText[..<(otherText.range(of: "-----BEGIN CERTIFICATE-----")?.lowerBound ?? otherText.endIndex)])

        let cases: [(String, () throws -> OpenSSLAssertionSigner)] = [
            ("cannot be read", { try OpenSSLAssertionSigner(pemFile: dir.appendingPathComponent("missing.pem").path) }),
            ("no PEM certificate", { try OpenSSLAssertionSigner(pem: Array(keyOnly.utf8), source: "key-only.pem") }),
            ("no readable private key", { try OpenSSLAssertionSigner(pem: Array(certOnly.utf8), source: "cert-only.pem") }),
            ("does not belong", { try OpenSSLAssertionSigner(pem: Array((otherKey + certOnly).utf8), source: "mixed.pem") }),
        ]
        for (expected, load) in cases {
            do {
                _ = try load()
                Issue.record("expected failure: \(expected)")
            } catch let error as GraphError {
                #expect(error.code == .configuration)
                #expect(error.description.contains(expected), "\(error)")
                #expect(!error.description.contains("PRIVATE KEY"))
                #expect(!error.debugDescription.contains("MII"))
            }
        }
    }
}
