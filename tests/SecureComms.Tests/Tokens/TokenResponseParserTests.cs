using System.Text;
using SecureComms.Testing;

namespace SecureComms.Tests.Tokens;

/// <summary>What the token endpoint answers is read strictly: anything unverifiable is an error, never a cached token.</summary>
[TestClass]
public sealed class TokenResponseParserTests
{
    private static readonly Uri Endpoint = new("https://auth.example.org/token");
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private static readonly Lazy<WorkloadCertificate> Certificate = new(() =>
        DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org")).IssueSvid(SpiffeId.Parse("spiffe://example.org/orders")));

    private static AccessToken Parse(string json) =>
        TokenResponseParser.ParseSuccess(Encoding.UTF8.GetBytes(json), Endpoint, Certificate.Value, Now, TimeSpan.FromHours(24));

    [TestMethod]
    public void WellFormedResponse_GivesATokenExpiringAfterExpiresIn()
    {
        AccessToken token = Parse("""{"access_token":"opaque-value","token_type":"Bearer","expires_in":300,"scope":"invoices.read"}""");

        Assert.AreEqual("opaque-value", token.Value);
        Assert.AreEqual(Now.AddSeconds(300), token.ExpiresAt);
        Assert.AreEqual("invoices.read", token.Scope);
        Assert.AreEqual(Certificate.Value.Sha256Thumbprint, token.CertificateThumbprint);
        Assert.DoesNotContain("opaque-value", token.ToString(), "ToString never reveals the token");
    }

    [TestMethod]
    [DataRow("not json", "not valid JSON", DisplayName = "malformed JSON")]
    [DataRow("[1,2]", "not a JSON object", DisplayName = "JSON array")]
    [DataRow("""{"token_type":"Bearer","expires_in":300}""", "no access_token", DisplayName = "missing access_token")]
    [DataRow("""{"access_token":"","token_type":"Bearer","expires_in":300}""", "no access_token", DisplayName = "empty access_token")]
    [DataRow("""{"access_token":"x","expires_in":300}""", "no token_type", DisplayName = "missing token_type")]
    [DataRow("""{"access_token":"x","token_type":"DPoP","expires_in":300}""", "not supported", DisplayName = "other token type")]
    [DataRow("""{"access_token":"x","token_type":"Bearer"}""", "no expires_in", DisplayName = "missing expires_in")]
    [DataRow("""{"access_token":"x","token_type":"Bearer","expires_in":-5}""", "not positive", DisplayName = "negative expires_in")]
    [DataRow("""{"access_token":"x","token_type":"Bearer","expires_in":0}""", "not positive", DisplayName = "zero expires_in")]
    [DataRow("""{"access_token":"x","token_type":"Bearer","expires_in":315360000}""", "longer than the accepted maximum", DisplayName = "absurd expires_in (ten years)")]
    [DataRow("""{"access_token":"x","token_type":"Bearer","expires_in":"soon"}""", "whole number", DisplayName = "non-numeric expires_in")]
    [DataRow("""{"access_token":"x","token_type":"Bearer","expires_in":1.5}""", "whole number", DisplayName = "fractional expires_in")]
    [DataRow("""{"access_token":"x","token_type":"Bearer","expires_in":"-5"}""", "whole number", DisplayName = "negative expires_in as a string")]
    [DataRow("""{"access_token":"x","token_type":"Bearer","expires_in":" 300"}""", "whole number", DisplayName = "expires_in string with a space")]
    [DataRow("""{"access_token":"x","token_type":"Bearer","expires_in":86401}""", "longer than the accepted maximum", DisplayName = "expires_in a second over the maximum")]
    [DataRow("""{"access_token":7,"token_type":"Bearer","expires_in":300}""", "no access_token", DisplayName = "numeric access_token")]
    [DataRow("""{"access_token":"x","token_type":1,"expires_in":300}""", "no token_type", DisplayName = "numeric token_type")]
    [DataRow("""{"access_token":null,"token_type":"Bearer","expires_in":300}""", "no access_token", DisplayName = "null access_token")]
    [DataRow("""{}""", "no access_token", DisplayName = "empty object")]
    [DataRow("""{"access_token":"x","token_type":"","expires_in":300}""", "token_type '' is not supported; expected Bearer.", DisplayName = "empty token_type")]
    [DataRow("""{"access_token":"x","token_type":"Bearer ","expires_in":300}""", "not supported", DisplayName = "token_type with a trailing space")]
    [DataRow("""{"access_token":"x","token_type":"Bearer","expires_in":1e30}""", "whole number", DisplayName = "expires_in beyond a 64-bit integer")]
    [DataRow("""{"access_token":"x","token_type":"Bearer","expires_in":true}""", "whole number", DisplayName = "boolean expires_in")]
    [DataRow("""{"access_token":"x","token_type":"Bearer","expires_in":null}""", "whole number", DisplayName = "null expires_in")]
    [DataRow("""{"access_token":"x","token_type":"Bearer","expires_in":"+300"}""", "whole number", DisplayName = "expires_in string with a sign")]
    [DataRow("""{"access_token":"x","token_type":"Bearer","expires_in":"3e2"}""", "whole number", DisplayName = "expires_in string with an exponent")]
    [DataRow("""{"access_token":"x","token_type":"Bearer","expires_in":""}""", "whole number", DisplayName = "empty expires_in string")]
    [DataRow("""{"access_token":"x","token_type":"Bearer","expires_in":"0"}""", "expires_in 0 is not positive.", DisplayName = "zero expires_in as a string")]
    [DataRow("""{"access_token":"x","token_type":"Bearer","expires_in":"86401"}""", "expires_in 86401 s is longer than the accepted maximum of 86400 s.", DisplayName = "expires_in string a second over the maximum")]
    public void BadResponse_IsAClearInvalidResponseError(string json, string reason)
    {
        TokenAcquisitionException error = Assert.ThrowsExactly<TokenAcquisitionException>(() => Parse(json));

        Assert.AreEqual("invalid_response", error.Error);
        Assert.Contains(reason, error.ErrorDescription!);
        Assert.AreEqual(Endpoint, error.TokenEndpoint);
    }

    [TestMethod]
    public void JwtBoundToAnotherCertificate_IsRefused()
    {
        string header = B64("""{"alg":"ES256","typ":"at+jwt"}""");
        string payload = B64("""{"sub":"orders","cnf":{"x5t#S256":"c29tZW9uZS1lbHNlcy1jZXJ0aWZpY2F0ZQ"}}""");
        string json = $$"""{"access_token":"{{header}}.{{payload}}.c2ln","token_type":"Bearer","expires_in":300}""";

        TokenAcquisitionException error = Assert.ThrowsExactly<TokenAcquisitionException>(() => Parse(json));

        Assert.Contains("bound to a different certificate", error.ErrorDescription!);
        Assert.DoesNotContain(payload, error.Message, "the token never appears in the message");
    }

    [TestMethod]
    public void UnboundJwt_IsRefusedByDefault_AndAcceptedOnlyWhenBindingIsNotRequired()
    {
        string header = B64("""{"alg":"ES256","typ":"at+jwt"}""");
        string payload = B64("""{"sub":"orders","aud":"https://billing.example.org"}""");
        byte[] json = Encoding.UTF8.GetBytes($$"""{"access_token":"{{header}}.{{payload}}.c2ln","token_type":"Bearer","expires_in":300}""");

        TokenAcquisitionException error = Assert.ThrowsExactly<TokenAcquisitionException>(
            () => TokenResponseParser.ParseSuccess(json, Endpoint, Certificate.Value, Now, TimeSpan.FromHours(24)));
        AccessToken accepted = TokenResponseParser.ParseSuccess(json, Endpoint, Certificate.Value, Now, TimeSpan.FromHours(24), requireBound: false);

        Assert.Contains("not bound to the client certificate", error.ErrorDescription!);
        Assert.IsNotNull(accepted);
    }

    [TestMethod]
    public void OpaqueToken_CannotBeInspected_AndIsAccepted()
    {
        AccessToken token = Parse("""{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"Bearer","expires_in":60}""");

        Assert.AreEqual("2YotnFZFEjr1zCsicMWpAA", token.Value);
    }

    [TestMethod]
    public void OAuthError_CarriesErrorDescriptionAndEndpoint()
    {
        TokenAcquisitionException error = TokenResponseParser.ParseError(
            Encoding.UTF8.GetBytes("""{"error":"invalid_client","error_description":"unknown certificate"}"""), 401, Endpoint);

        Assert.AreEqual("invalid_client", error.Error);
        Assert.AreEqual("unknown certificate", error.ErrorDescription);
        Assert.AreEqual(Endpoint, error.TokenEndpoint);
        Assert.Contains("invalid_client", error.Message);
    }

    [TestMethod]
    public void ErrorWithoutOAuthBody_IsInvalidResponse()
    {
        TokenAcquisitionException error = TokenResponseParser.ParseError(Encoding.UTF8.GetBytes("<html>oops</html>"), 400, Endpoint);

        Assert.AreEqual("invalid_response", error.Error);
        Assert.Contains("HTTP 400", error.ErrorDescription!);
    }

    [TestMethod]
    public void TokenTypeIsCaseInsensitive_ExpiresInMayBeAString_AndTheMaximumLifetimeIsAllowed()
    {
        // RFC 6749 §5.1: token_type is case-insensitive; some servers send expires_in as a JSON string.
        AccessToken token = Parse("""{"access_token":"opaque","token_type":"bearer","expires_in":"86400","scope":["not","a","string"]}""");

        Assert.AreEqual("Bearer", token.TokenType);
        Assert.AreEqual(Now.AddHours(24), token.ExpiresAt);
        Assert.IsNull(token.Scope, "a scope that is not a string is not taken");
    }

    [TestMethod]
    [DataRow("""{"access_token":"t","token_type":"BEARER","expires_in":1}""", 1, null, DisplayName = "upper-case token_type, one second, no scope")]
    [DataRow("""{"access_token":"t","token_type":"bEaReR","expires_in":"1"}""", 1, null, DisplayName = "mixed-case token_type, one second as a string")]
    [DataRow("""{"access_token":"t","token_type":"Bearer","expires_in":"0300","scope":""}""", 300, "", DisplayName = "leading zero, empty scope")]
    [DataRow("""{"access_token":"t","token_type":"Bearer","expires_in":3600,"scope":"a b","extra":{"ignored":true}}""", 3600, "a b", DisplayName = "unknown members ignored")]
    public void AcceptedShapes_GiveTheLifetimeAndScopeTheServerSaid(string json, int expiresInSeconds, string? scope)
    {
        AccessToken token = Parse(json);

        Assert.AreEqual("t", token.Value);
        Assert.AreEqual("Bearer", token.TokenType);
        Assert.AreEqual(Now, token.IssuedAt);
        Assert.AreEqual(Now.AddSeconds(expiresInSeconds), token.ExpiresAt);
        Assert.AreEqual(scope, token.Scope);
    }

    [TestMethod]
    public void JwtBoundToThisClientsCertificate_IsAccepted()
    {
        string json = JwtResponse($$$"""{"sub":"orders","cnf":{"x5t#S256":"{{{Certificate.Value.Sha256Thumbprint}}}"}}""");

        AccessToken token = Parse(json);

        Assert.AreEqual(Certificate.Value.Sha256Thumbprint, token.CertificateThumbprint);
    }

    [TestMethod]
    [DataRow("""{"sub":"orders","cnf":{"x5t#S256":5}}""", true, "cnf claim is malformed", DisplayName = "thumbprint not a string")]
    [DataRow("""{"sub":"orders","cnf":{"x5t#S256":5}}""", false, "cnf claim is malformed", DisplayName = "thumbprint not a string, binding not required")]
    [DataRow("""{"sub":"orders","cnf":{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}""", true, "no x5t#S256", DisplayName = "bound to a DPoP key, not a certificate")]
    public void JwtWithAnUnusableCnf_IsRefused(string payload, bool requireBound, string reason)
    {
        byte[] json = Encoding.UTF8.GetBytes(JwtResponse(payload));

        TokenAcquisitionException error = Assert.ThrowsExactly<TokenAcquisitionException>(
            () => TokenResponseParser.ParseSuccess(json, Endpoint, Certificate.Value, Now, TimeSpan.FromHours(24), requireBound));

        Assert.AreEqual("invalid_response", error.Error);
        Assert.Contains(reason, error.ErrorDescription!);
    }

    [TestMethod]
    public void JwtBoundToAKeyOnly_IsAcceptedWhenBindingIsNotRequired()
    {
        byte[] json = Encoding.UTF8.GetBytes(JwtResponse("""{"sub":"orders","cnf":{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}"""));

        AccessToken token = TokenResponseParser.ParseSuccess(json, Endpoint, Certificate.Value, Now, TimeSpan.FromHours(24), requireBound: false);

        Assert.AreEqual(Now.AddSeconds(300), token.ExpiresAt);
    }

    [TestMethod]
    [DataRow("""{"error":7}""", DisplayName = "error not a string")]
    [DataRow("""["invalid_client"]""", DisplayName = "an array")]
    [DataRow("""{"error_description":"no error member"}""", DisplayName = "no error member")]
    public void ErrorBodyWithoutAnOAuthErrorString_IsInvalidResponse(string body)
    {
        TokenAcquisitionException error = TokenResponseParser.ParseError(Encoding.UTF8.GetBytes(body), 503, Endpoint);

        Assert.AreEqual("invalid_response", error.Error);
        Assert.Contains("HTTP 503 without an OAuth error body", error.ErrorDescription!);
        Assert.AreEqual(Endpoint, error.TokenEndpoint);
    }

    [TestMethod]
    public void OAuthErrorWithoutAStringDescription_HasNoDescription()
    {
        TokenAcquisitionException error = TokenResponseParser.ParseError(Encoding.UTF8.GetBytes("""{"error":"invalid_grant","error_description":42}"""), 400, Endpoint);

        Assert.AreEqual("invalid_grant", error.Error);
        Assert.IsNull(error.ErrorDescription);
    }

    private static string JwtResponse(string payload)
    {
        string header = B64("""{"alg":"ES256","typ":"at+jwt"}""");
        return $$"""{"access_token":"{{header}}.{{B64(payload)}}.c2ln","token_type":"Bearer","expires_in":300}""";
    }

    private static string B64(string json) => System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));
}
