namespace SecureComms;

/// <summary>
/// The names SecureComms emits telemetry under, for <c>AddSource(SecureCommsTelemetry.ActivitySourceName)</c> and
/// <c>AddMeter(SecureCommsTelemetry.MeterName)</c> in the OpenTelemetry SDK, and for dashboards and alerts.
/// Tag keys follow the OpenTelemetry semantic conventions where one exists (<c>tls.*</c>, <c>error.type</c>,
/// <c>server.address</c>, <c>enduser.id</c>); the others live under <c>securecomms.</c>.
/// </summary>
public static class SecureCommsTelemetry
{
    /// <summary>The name of SecureComms' <see cref="System.Diagnostics.ActivitySource"/>.</summary>
    public const string ActivitySourceName = "SecureComms";

    /// <summary>The name of SecureComms' <see cref="System.Diagnostics.Metrics.Meter"/>.</summary>
    public const string MeterName = "SecureComms";

    /// <summary>Span (activity) names.</summary>
    public static class Spans
    {
        /// <summary>Getting an access token for an outbound call: from the cache or from the token endpoint.</summary>
        public const string TokenAcquisition = "securecomms.token.acquire";

        /// <summary>An outbound call through a SecureComms client, tagged with the server's validated identity.</summary>
        public const string OutboundCall = "securecomms.outbound";

        /// <summary>The decision on an inbound request: caller, decision, matched rule or denial reason.</summary>
        public const string InboundDecision = "securecomms.authorize";
    }

    /// <summary>Instrument names of the <c>SecureComms</c> meter.</summary>
    public static class Instruments
    {
        /// <summary>Counter of inbound authorization decisions, tagged with decision and reason.</summary>
        public const string AuthorizationDecisions = "securecomms.authorization.decisions";

        /// <summary>Counter of peer certificates refused, tagged with reason and the peer's side.</summary>
        public const string PeerCertificateFailures = "securecomms.peer_certificate.failures";

        /// <summary>Counter of token acquisitions, tagged with result.</summary>
        public const string TokenAcquisitions = "securecomms.token.acquisitions";

        /// <summary>Histogram (seconds) of token requests to the authorization server, tagged with result.</summary>
        public const string TokenAcquisitionDuration = "securecomms.token.acquisition.duration";

        /// <summary>Counter of the workload's own certificate rotations, tagged with result.</summary>
        public const string CertificateRotations = "securecomms.certificate.rotations";

        /// <summary>Gauge (seconds) until the workload's own certificate expires; negative once expired.</summary>
        public const string CertificateTimeToExpiry = "securecomms.certificate.time_to_expiry";

        /// <summary>Gauge (seconds) until the first CA of each trust bundle expires, tagged with the trust domain.</summary>
        public const string TrustBundleTimeToExpiry = "securecomms.trust_bundle.time_to_expiry";

        /// <summary>
        /// Counter of configuration reloads, tagged with <see cref="Tags.ConfigurationSection"/> and
        /// <see cref="Tags.Result"/> (<see cref="Results.Success"/> or <see cref="Results.Rejected"/>). A rejected change
        /// is counted once however often the file watcher reports it; the last good settings stay in force.
        /// </summary>
        public const string ConfigurationReloads = "securecomms.configuration.reloads";

        /// <summary>
        /// Counter of X.509 updates pushed by the SPIFFE Workload API, tagged with <see cref="Tags.Result"/>
        /// (<see cref="Results.Success"/> or <see cref="Results.Rejected"/>: refused and ignored, the last good SVID kept).
        /// </summary>
        public const string WorkloadApiUpdates = "securecomms.workload_api.updates";

        /// <summary>
        /// Counter of losses of the SPIFFE Workload API stream and failed reconnections, tagged with <see cref="Tags.Reason"/>
        /// (the gRPC status, for example <c>Unavailable</c> or <c>PermissionDenied</c>, or <c>stream_ended</c>).
        /// </summary>
        public const string WorkloadApiDisconnections = "securecomms.workload_api.disconnections";

        /// <summary>Counter: RFC 7662 introspection calls for opaque access tokens, by <c>securecomms.result</c> (<c>success</c> active, <c>rejected</c> inactive, <c>failed</c>).</summary>
        public const string TokenIntrospections = "securecomms.token.introspections";
    }

    /// <summary>Tag (attribute) keys on spans and metrics.</summary>
    public static class Tags
    {
        /// <summary>The peer's SPIFFE ID: the caller on inbound spans, the server on outbound spans. Spans only.</summary>
        public const string PeerSpiffeId = "securecomms.peer.spiffe_id";

        /// <summary><c>allow</c> or <c>deny</c>.</summary>
        public const string Decision = "securecomms.decision";

        /// <summary>Why: a denial reason (for example <c>NoMatchingRule</c>, <c>TokenBoundToAnotherCertificate</c>) or a validation failure.</summary>
        public const string Reason = "securecomms.reason";

        /// <summary>The name of the central-policy rule that decided, when one did. Spans only.</summary>
        public const string Rule = "securecomms.rule";

        /// <summary>Which side's certificate was refused: <c>client</c> (a caller, checked by a server) or <c>server</c>.</summary>
        public const string PeerSide = "securecomms.peer.side";

        /// <summary>Result of a token acquisition or rotation: see <see cref="Results"/>.</summary>
        public const string Result = "securecomms.result";

        /// <summary>The name of the outbound client (configuration key under <c>SecureComms:Clients</c>).</summary>
        public const string ClientName = "securecomms.client";

        /// <summary>A trust domain, on the trust bundle gauge.</summary>
        public const string TrustDomain = "securecomms.trust_domain";

        /// <summary>The end user's subject, when a user identity travels with the call. Spans only.</summary>
        public const string EndUserId = "enduser.id";

        /// <summary>
        /// The reloaded configuration section (<c>SecureComms</c>, <c>SecureComms:Authorization</c>,
        /// <c>SecureComms:Authorization:RateLimits</c>), or <c>file</c> for a configuration file that could not be read.
        /// </summary>
        public const string ConfigurationSection = "securecomms.configuration.section";

        /// <summary>OpenTelemetry <c>error.type</c>: the OAuth error or failure class.</summary>
        public const string ErrorType = "error.type";

        /// <summary>OpenTelemetry <c>server.address</c>.</summary>
        public const string ServerAddress = "server.address";

        /// <summary>OpenTelemetry <c>tls.protocol.name</c> (<c>tls</c>).</summary>
        public const string TlsProtocolName = "tls.protocol.name";

        /// <summary>OpenTelemetry <c>tls.protocol.version</c> (<c>1.2</c>, <c>1.3</c>).</summary>
        public const string TlsProtocolVersion = "tls.protocol.version";
    }

    /// <summary>Values of <see cref="Tags.Result"/> and <see cref="Tags.Decision"/>.</summary>
    public static class Results
    {
        /// <summary>The request was allowed.</summary>
        public const string Allow = "allow";

        /// <summary>The request was denied.</summary>
        public const string Deny = "deny";

        /// <summary>A cached token was still fresh.</summary>
        public const string CacheHit = "cache_hit";

        /// <summary>No token was cached; one was requested.</summary>
        public const string Acquired = "acquired";

        /// <summary>A cached token was near expiry; a new one was requested.</summary>
        public const string Refreshed = "refreshed";

        /// <summary>No token could be obtained.</summary>
        public const string Failed = "failed";

        /// <summary>No token could be obtained and none was requested: a request failed moments ago (the failure back-off).</summary>
        public const string BackedOff = "backed_off";

        /// <summary>A rotation or configuration reload that took effect.</summary>
        public const string Success = "success";

        /// <summary>A configuration change that was refused: the last good settings stay in force.</summary>
        public const string Rejected = "rejected";
    }

    /// <summary>
    /// Values of <see cref="Tags.Reason"/> on inbound decisions (and the <c>Reason</c> of audit events). A refused
    /// peer certificate reports its <see cref="SvidValidationFailure"/> name instead.
    /// </summary>
    public static class Reasons
    {
        /// <summary>
        /// Replaced by <see cref="AllowedByRule"/>: an endpoint's own rule (<c>RequireCaller</c>, <c>RequireScope</c>)
        /// and a central-policy rule now allow with the same reason, so that dashboards group them.
        /// </summary>
        [Obsolete("Allowed requests are reported as AllowedByRule, whichever rule allowed them (the rule tag names it).")]
        public const string Allowed = "Allowed";

        /// <summary>
        /// A rule allowed the caller: a central-policy Allow rule (<c>securecomms.rule</c> names it) or the endpoint's
        /// own authorization (<c>RequireCaller</c>, <c>RequireScope</c>; the rule is then <c>RequireCaller</c> or
        /// <c>endpoint</c>).
        /// </summary>
        public const string AllowedByRule = "AllowedByRule";

        /// <summary>A central-policy Deny rule refused the caller (<c>securecomms.rule</c> names it).</summary>
        public const string DeniedByRule = "DeniedByRule";

        /// <summary>
        /// No rule allows this caller here: default deny. The central policy had no matching Allow rule, or the
        /// endpoint's <c>RequireCaller</c> does not name the caller (the rule is then <c>RequireCaller</c>).
        /// </summary>
        public const string NoMatchingRule = "NoMatchingRule";

        /// <summary>The path was not canonical (encoded separators or dot segments) and was refused.</summary>
        public const string NonCanonicalPath = "NonCanonicalPath";

        /// <summary>No valid caller identity (no trusted client certificate).</summary>
        public const string NoCallerIdentity = "NoCallerIdentity";

        /// <summary>
        /// Replaced by <see cref="NoMatchingRule"/>: a caller that <c>RequireCaller</c> does not name is denied with the
        /// same reason as one no central-policy rule allows (the rule tag says <c>RequireCaller</c>).
        /// </summary>
        [Obsolete("A caller RequireCaller does not name is reported as NoMatchingRule, rule RequireCaller.")]
        public const string CallerNotAllowed = "CallerNotAllowed";

        /// <summary>The access token lacks a scope the endpoint requires.</summary>
        public const string InsufficientScope = "InsufficientScope";

        /// <summary>No access token was presented where one is required.</summary>
        public const string MissingToken = "MissingToken";

        /// <summary>The access token has expired.</summary>
        public const string TokenExpired = "TokenExpired";

        /// <summary>The access token is not valid yet.</summary>
        public const string TokenNotYetValid = "TokenNotYetValid";

        /// <summary>The access token comes from another issuer.</summary>
        public const string WrongIssuer = "WrongIssuer";

        /// <summary>The access token is meant for another audience.</summary>
        public const string WrongAudience = "WrongAudience";

        /// <summary>The token is not an access token (<c>typ</c> is not <c>at+jwt</c>).</summary>
        public const string WrongTokenType = "WrongTokenType";

        /// <summary>The token is signed with an algorithm outside the allow-list.</summary>
        public const string AlgorithmNotAllowed = "AlgorithmNotAllowed";

        /// <summary>The token is signed with a key the issuer does not publish.</summary>
        public const string UnknownSigningKey = "UnknownSigningKey";

        /// <summary>The token's signature does not verify.</summary>
        public const string BadSignature = "BadSignature";

        /// <summary>The token cannot be read.</summary>
        public const string MalformedToken = "MalformedToken";

        /// <summary>The token carries no <c>cnf</c> binding while binding is required.</summary>
        public const string TokenNotCertificateBound = "TokenNotCertificateBound";

        /// <summary>The token is bound to another client certificate: a replayed (stolen) token.</summary>
        public const string TokenBoundToAnotherCertificate = "TokenBoundToAnotherCertificate";

        /// <summary>The token was refused for another reason.</summary>
        public const string InvalidToken = "InvalidToken";

        /// <summary>The access token has no <c>exp</c> (RFC 9068 §2.2 requires one).</summary>
        public const string TokenWithoutExpiration = "TokenWithoutExpiration";

        /// <summary>The issuer's signing keys could not be fetched and none are known yet, so no token can be validated.</summary>
        public const string IssuerKeysUnavailable = "IssuerKeysUnavailable";

        /// <summary>
        /// A JWT-SVID whose <c>sub</c> is not the SPIFFE ID the caller proved with its certificate: a token replayed by
        /// another workload (a JWT-SVID is not bound to a certificate, so this is how its theft is caught).
        /// </summary>
        public const string JwtSvidSubjectIsNotCaller = "JwtSvidSubjectIsNotCaller";

        /// <summary>The authorization server's introspection answer (RFC 7662 §2.2) says the opaque token is not active: revoked, expired or unknown.</summary>
        public const string TokenInactive = "TokenInactive";

        /// <summary>The opaque token could not be introspected (the endpoint is down, answered an error or unreadable JSON, or timed out) and no answer is cached.</summary>
        public const string IntrospectionUnavailable = "IntrospectionUnavailable";

        /// <summary>A JWT-SVID came, but no JWT bundle has arrived from the Workload API yet to validate it with.</summary>
        public const string JwtBundlesUnavailable = "JwtBundlesUnavailable";

        /// <summary>A user context came, but this service accepts none (no <c>SecureComms:UserContext:TrustedGateways</c>).</summary>
        public const string UserContextNotAccepted = "UserContextNotAccepted";

        /// <summary>The user context is not a well-formed SecureComms user-context token (or is too long).</summary>
        public const string UserContextMalformed = "UserContextMalformed";

        /// <summary>The certificate that signed the user context is not a valid SVID of a trusted trust domain.</summary>
        public const string UserContextUntrustedCertificate = "UserContextUntrustedCertificate";

        /// <summary>The user context's signature, issuer or type did not verify against its signing certificate.</summary>
        public const string UserContextBadSignature = "UserContextBadSignature";

        /// <summary>The user context was signed by a workload that is not an allowed gateway (origin) or forwarder.</summary>
        public const string UserContextUntrustedSigner = "UserContextUntrustedSigner";

        /// <summary>The user context was signed by another workload than the caller presenting it (a replayed context).</summary>
        public const string UserContextSignerIsNotCaller = "UserContextSignerIsNotCaller";

        /// <summary>The user context (or one it wraps) was issued for another audience.</summary>
        public const string UserContextWrongAudience = "UserContextWrongAudience";

        /// <summary>The user context (or one it wraps) expired or is not valid yet.</summary>
        public const string UserContextExpired = "UserContextExpired";

        /// <summary>The user context lives longer than <c>SecureComms:UserContext:MaxLifetime</c> allows.</summary>
        public const string UserContextLifetimeTooLong = "UserContextLifetimeTooLong";

        /// <summary>The user context passed through more workloads than <c>SecureComms:UserContext:MaxChainLength</c>.</summary>
        public const string UserContextChainTooLong = "UserContextChainTooLong";

        /// <summary>A forwarded user context names another user than the context it wraps.</summary>
        public const string UserContextSubjectMismatch = "UserContextSubjectMismatch";
    }
}
