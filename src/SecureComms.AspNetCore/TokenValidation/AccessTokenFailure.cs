using Microsoft.IdentityModel.Tokens;

namespace SecureComms;

/// <summary>Stable, machine-readable reasons an access token was refused (logged, and the RFC 6750 <c>error_description</c>).</summary>
internal static class AccessTokenFailure
{
    internal const string Missing = SecureCommsTelemetry.Reasons.MissingToken;
    internal const string Expired = SecureCommsTelemetry.Reasons.TokenExpired;
    internal const string NotYetValid = SecureCommsTelemetry.Reasons.TokenNotYetValid;
    internal const string WrongIssuer = SecureCommsTelemetry.Reasons.WrongIssuer;
    internal const string WrongAudience = SecureCommsTelemetry.Reasons.WrongAudience;
    internal const string WrongType = SecureCommsTelemetry.Reasons.WrongTokenType;
    internal const string AlgorithmNotAllowed = SecureCommsTelemetry.Reasons.AlgorithmNotAllowed;
    internal const string UnknownSigningKey = SecureCommsTelemetry.Reasons.UnknownSigningKey;
    internal const string BadSignature = SecureCommsTelemetry.Reasons.BadSignature;
    internal const string Malformed = SecureCommsTelemetry.Reasons.MalformedToken;
    internal const string NotCertificateBound = SecureCommsTelemetry.Reasons.TokenNotCertificateBound;
    internal const string BoundToAnotherCertificate = SecureCommsTelemetry.Reasons.TokenBoundToAnotherCertificate;
    internal const string Invalid = SecureCommsTelemetry.Reasons.InvalidToken;
    internal const string WithoutExpiration = SecureCommsTelemetry.Reasons.TokenWithoutExpiration;
    internal const string KeysUnavailable = SecureCommsTelemetry.Reasons.IssuerKeysUnavailable;
    internal const string JwtSvidSubjectIsNotCaller = SecureCommsTelemetry.Reasons.JwtSvidSubjectIsNotCaller;
    internal const string JwtBundlesUnavailable = SecureCommsTelemetry.Reasons.JwtBundlesUnavailable;
    internal const string Inactive = SecureCommsTelemetry.Reasons.TokenInactive;
    internal const string IntrospectionUnavailable = SecureCommsTelemetry.Reasons.IntrospectionUnavailable;

    /// <summary>
    /// How every user-context refusal description starts (for people; clients read
    /// <see cref="SecureCommsUserContext.RefusedChallengeParameter"/> in the challenge instead).
    /// </summary>
    internal const string UserContextRefused = "The user context was refused: ";

    /// <summary>
    /// Maps an IdentityModel validation exception to a reason; never echoes the token. Order matters where one type
    /// derives from another (every lifetime exception is a <see cref="SecurityTokenInvalidLifetimeException"/>; an
    /// unknown key is a <see cref="SecurityTokenInvalidSignatureException"/>).
    /// </summary>
    internal static string From(Exception? exception) => exception switch
    {
        SecurityTokenNoExpirationException => WithoutExpiration,
        SecurityTokenExpiredException => Expired,
        SecurityTokenNotYetValidException => NotYetValid,
        SecurityTokenInvalidIssuerException => WrongIssuer,
        SecurityTokenInvalidAudienceException => WrongAudience,
        SecurityTokenInvalidTypeException => WrongType,
        SecurityTokenInvalidAlgorithmException => AlgorithmNotAllowed,
        SecurityTokenSignatureKeyNotFoundException => UnknownSigningKey,
        SecurityTokenInvalidSignatureException => BadSignature,
        SecurityTokenMalformedException or ArgumentException => Malformed,
        IssuerKeysUnavailableException => KeysUnavailable,
        _ => Invalid,
    };

    /// <summary>What the caller is told in <c>error_description</c>: the reason, nothing about keys or token contents.</summary>
    internal static string Describe(string reason) => reason switch
    {
        Missing => "An access token is required.",
        Expired => "The access token expired.",
        WithoutExpiration => "The access token has no expiration time.",
        KeysUnavailable => "The access token cannot be validated now: the issuer's signing keys are unavailable.",
        NotYetValid => "The access token is not valid yet.",
        Inactive => "The access token is not active.",
        IntrospectionUnavailable => "The access token cannot be validated now: the authorization server's introspection endpoint is unavailable.",
        JwtSvidSubjectIsNotCaller => "The JWT-SVID names another workload than the caller.",
        JwtBundlesUnavailable => "The JWT-SVID cannot be validated now: no JWT bundle is available.",
        WrongIssuer => "The access token was issued by an untrusted issuer.",
        WrongAudience => "The access token was issued for another audience.",
        WrongType => "The token is not an access token (typ at+jwt).",
        AlgorithmNotAllowed => "The token's signing algorithm is not allowed.",
        UnknownSigningKey or BadSignature => "The access token signature is invalid.",
        Malformed => "The access token is malformed.",
        NotCertificateBound => "The access token is not bound to a client certificate.",
        BoundToAnotherCertificate => "The access token is bound to another client certificate.",
        SecureCommsTelemetry.Reasons.UserContextNotAccepted => UserContextRefused + "this service accepts no user context.",
        SecureCommsTelemetry.Reasons.UserContextMalformed => UserContextRefused + "it is malformed.",
        SecureCommsTelemetry.Reasons.UserContextUntrustedCertificate => UserContextRefused + "its signing certificate is not trusted.",
        SecureCommsTelemetry.Reasons.UserContextBadSignature => UserContextRefused + "its signature is invalid.",
        SecureCommsTelemetry.Reasons.UserContextUntrustedSigner => UserContextRefused + "it was signed by a workload not allowed to speak for users.",
        SecureCommsTelemetry.Reasons.UserContextSignerIsNotCaller => UserContextRefused + "it was signed by another workload than the caller.",
        SecureCommsTelemetry.Reasons.UserContextWrongAudience => UserContextRefused + "it was issued for another audience.",
        SecureCommsTelemetry.Reasons.UserContextExpired => UserContextRefused + "it expired.",
        SecureCommsTelemetry.Reasons.UserContextLifetimeTooLong => UserContextRefused + "its lifetime is too long.",
        SecureCommsTelemetry.Reasons.UserContextChainTooLong => UserContextRefused + "it passed through too many workloads.",
        SecureCommsTelemetry.Reasons.UserContextSubjectMismatch => UserContextRefused + "it names another user than the context it wraps.",
        _ => "The access token is invalid.",
    };
}
