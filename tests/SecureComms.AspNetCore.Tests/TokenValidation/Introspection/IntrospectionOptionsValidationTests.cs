using Microsoft.Extensions.Options;

namespace SecureComms.AspNetCore.Tests.TokenValidation.Introspection;

/// <summary>Unsafe or incomplete introspection settings fail start-up, naming the key to fix.</summary>
[TestClass]
public sealed class IntrospectionOptionsValidationTests
{
    public static IEnumerable<object[]> InvalidOptions()
    {
        yield return ["no authority", Options(o => o.Authority = null), "Introspection:Enabled requires SecureComms:TokenValidation:Authority"];
        yield return ["no client id", Options(o => o.Introspection.ClientId = null), "Introspection:ClientId is required"];
        yield return ["plain http endpoint", Options(o => o.Introspection.Endpoint = new Uri("http://as.example.org/introspect")), "Introspection:Endpoint 'http://as.example.org/introspect' must be an absolute https:// address"];
        yield return ["negative cache size", Options(o => o.Introspection.MaxCacheEntries = -1), "Introspection:MaxCacheEntries cannot be negative"];
        yield return ["no timeout", Options(o => o.Introspection.Timeout = TimeSpan.Zero), "Introspection:Timeout must be more than 0"];
        yield return ["negative results kept for an hour", Options(o => o.Introspection.NegativeCacheDuration = TimeSpan.FromHours(1)), "Introspection:NegativeCacheDuration must be between 0 and 00:05:00"];
        yield return ["active results kept for a day", Options(o => o.Introspection.MaxCacheDuration = TimeSpan.FromDays(1)), "Introspection:MaxCacheDuration must be between 0 and 01:00:00"];
        yield return ["settings left behind while disabled", Options(o => o.Introspection.Enabled = false), "Introspection:Endpoint or ClientId is set but SecureComms:TokenValidation:Introspection:Enabled is false"];
    }

    [TestMethod]
    [DynamicData(nameof(InvalidOptions))]
    public void InvalidIntrospectionSettings_FailStartUp_NamingTheKey(string problem, SecureCommsTokenValidationOptions options, string expected)
    {
        ValidateOptionsResult result = new SecureCommsTokenValidationOptionsValidator().Validate(null, options);

        Assert.IsTrue(result.Failed, problem);
        Assert.IsTrue(result.Failures!.Any(f => f.Contains(expected, StringComparison.Ordinal)), $"{problem}: {result.FailureMessage}");
    }

    [TestMethod]
    public void CompleteSettings_AreValid()
    {
        ValidateOptionsResult result = new SecureCommsTokenValidationOptionsValidator().Validate(null, Options(_ => { }));

        Assert.IsTrue(result.Succeeded, result.FailureMessage);
    }

    private static SecureCommsTokenValidationOptions Options(Action<SecureCommsTokenValidationOptions> change)
    {
        var options = new SecureCommsTokenValidationOptions
        {
            Authority = new Uri("https://as.example.org"),
            Audience = "https://billing.example.org",
            Introspection = new SecureCommsIntrospectionOptions { Enabled = true, ClientId = "billing" },
        };
        change(options);
        return options;
    }
}
