using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SecureComms.AspNetCore.Tests.Infrastructure;

namespace SecureComms.AspNetCore.Tests.Authorization;

/// <summary>
/// SecureComms decides its own policies without ASP.NET Core's per-request authorization service only when nobody could
/// tell: the same answers and audited reasons as the framework's path, and the framework's path whenever another
/// authorization handler, a listener to its counter or its log is there.
/// </summary>
[TestClass]
public sealed class PolicyEvaluatorShortcutTests
{
    private static readonly string[] Paths = ["/reports/daily", "/admin/users", "/orders-only", "/scoped", "/exports/daily"];

    private static Task<SecureServiceHost> StartAsync(Action<IServiceCollection>? services = null) =>
        SecureServiceHost.StartAsync(
            app =>
            {
                app.MapGet("/reports/daily", () => "report");
                app.MapGet("/admin/users", () => "users");
                app.MapGet("/orders-only", () => "orders").RequireCaller("spiffe://example.org/orders");
                app.MapGet("/scoped", () => "scoped").RequireCaller("spiffe://example.org/orders").RequireScope("invoices.read");
                app.MapGet("/exports/daily", () => "export"); // a central rule that requires a scope
            },
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:Authorization:Rules:0:Name"] = "reports",
                ["SecureComms:Authorization:Rules:0:Callers:0"] = "spiffe://example.org/orders",
                ["SecureComms:Authorization:Rules:0:Callers:1"] = "spiffe://example.org/analytics",
                ["SecureComms:Authorization:Rules:0:Paths:0"] = "/reports/*",
                ["SecureComms:Authorization:Rules:1:Name"] = "exports",
                ["SecureComms:Authorization:Rules:1:Callers:0"] = "spiffe://example.org/orders",
                ["SecureComms:Authorization:Rules:1:Paths:0"] = "/exports/*",
                ["SecureComms:Authorization:Rules:1:Scopes:0"] = "exports.read",
            },
            services);

    /// <summary>The framework's authorization log on: SecureComms steps aside so that it is written.</summary>
    private static void FrameworkLogOn(IServiceCollection services) =>
        services.AddLogging(b => b.AddFilter("Microsoft.AspNetCore.Authorization", LogLevel.Information));

    [TestMethod]
    public async Task Shortcut_AnswersAndAuditsExactlyAsTheFrameworkPath()
    {
        await using SecureServiceHost shortcut = await StartAsync();
        await using SecureServiceHost framework = await StartAsync(FrameworkLogOn);
        Assert.IsTrue(Decides(shortcut), "the shortcut should be taken with the framework's authorization log off");
        Assert.IsFalse(Decides(framework), "the framework's path should be taken with its authorization log on");

        foreach (SpiffeId caller in new[] { TestPki.Orders, TestPki.Analytics })
        {
            foreach (string path in Paths)
            {
                (HttpStatusCode status, string? challenge) viaShortcut = await GetAsync(shortcut, caller, path);
                (HttpStatusCode status, string? challenge) viaFramework = await GetAsync(framework, caller, path);
                Assert.AreEqual(viaFramework, viaShortcut, $"{caller} {path}");
                if (caller == TestPki.Orders && path == "/exports/daily")
                {
                    Assert.Contains("error=\"insufficient_scope\", scope=\"exports.read\"", viaShortcut.challenge!, "a rule failing on scopes alone");
                }
            }
        }

        // The same denials with the same reasons (audit event 1400), in the same order: orders to /admin/users,
        // /scoped and /exports/daily (no scope), analytics to /admin/users, /orders-only, /scoped and /exports/daily.
        Assert.HasCount(7, Denials(framework), string.Join(Environment.NewLine, Denials(framework)));
        Assert.AreEqual(2, Denials(shortcut).Count(d => d.Contains("InsufficientScope, rule exports", StringComparison.Ordinal) || d.Contains("/exports/daily: NoMatchingRule", StringComparison.Ordinal)));
        Assert.AreSequenceEqual(Denials(framework), Denials(shortcut));
        Assert.Contains(e => e.Category?.StartsWith("Microsoft.AspNetCore.Authorization", StringComparison.Ordinal) == true, framework.Logs.GetSnapshot(), "the framework path writes its authorization log");
        Assert.DoesNotContain(e => e.Category?.StartsWith("Microsoft.AspNetCore.Authorization", StringComparison.Ordinal) == true, shortcut.Logs.GetSnapshot(), "the shortcut did not go through the framework's authorization service");
    }

    [TestMethod]
    public async Task AnotherAuthorizationHandler_ShortcutStepsAside_AndItsDenialStands()
    {
        await using SecureServiceHost service = await StartAsync(s => s.AddSingleton<IAuthorizationHandler, MaintenanceModeHandler>());

        (HttpStatusCode status, _) = await GetAsync(service, TestPki.Orders, "/reports/daily");

        Assert.IsFalse(Decides(service));
        Assert.AreEqual(HttpStatusCode.Forbidden, status, "an application handler that fails every request must still be heard");
    }

    [TestMethod]
    public async Task ListenerToTheFrameworkAuthorizationCounter_ShortcutStepsAside_SoEveryDecisionIsCounted()
    {
        await using SecureServiceHost service = await StartAsync();
        IMeterFactory meters = service.App.Services.GetRequiredService<IMeterFactory>();
        var counted = new List<string>();
        using (var listener = new MeterListener())
        {
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "aspnetcore.authorization.attempts" && ReferenceEquals(instrument.Meter.Scope, meters))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
            {
                foreach (KeyValuePair<string, object?> tag in tags)
                {
                    if (tag.Key == "aspnetcore.authorization.result")
                    {
                        lock (counted)
                        {
                            counted.Add((string)tag.Value!);
                        }
                    }
                }
            });
            listener.Start();

            Assert.IsFalse(Decides(service), "someone listens to the framework's counter");
            Assert.AreEqual(HttpStatusCode.OK, (await GetAsync(service, TestPki.Orders, "/reports/daily")).Status);
            Assert.AreEqual(HttpStatusCode.Forbidden, (await GetAsync(service, TestPki.Analytics, "/admin/users")).Status);
        }

        Assert.AreSequenceEqual(new[] { "success", "failure" }, counted);
        Assert.IsTrue(Decides(service), "with the listener gone the shortcut is taken again");
    }

    [TestMethod]
    public void ApplicationPolicyEvaluator_IsKept_WhetherRegisteredBeforeOrAfter()
    {
        foreach (bool before in new[] { true, false })
        {
            var services = new ServiceCollection();
            if (before)
            {
                services.AddSingleton<IPolicyEvaluator, ApplicationEvaluator>();
            }

            services.AddSecureComms(new ConfigurationBuilder().Build());
            if (!before)
            {
                services.AddSingleton<IPolicyEvaluator, ApplicationEvaluator>();
            }

            Assert.AreEqual(typeof(ApplicationEvaluator), services.Last(d => d.ServiceType == typeof(IPolicyEvaluator)).ImplementationType, before ? "registered before" : "registered after");
        }
    }

    private static bool Decides(SecureServiceHost service)
    {
        var evaluator = (SecureCommsPolicyEvaluator)service.App.Services.GetRequiredService<IPolicyEvaluator>();
        AuthorizationPolicy fallback = service.App.Services.GetRequiredService<IOptions<AuthorizationOptions>>().Value.FallbackPolicy!;
        return evaluator.CanDecide(fallback);
    }

    private static string[] Denials(SecureServiceHost service) =>
        [.. service.Logs.GetSnapshot().Where(e => e.Id.Id == 1400).Select(e => e.Message)];

    private static async Task<(HttpStatusCode Status, string? Challenge)> GetAsync(SecureServiceHost service, SpiffeId caller, string path)
    {
        (ServiceProvider services, HttpClient client) = TestClients.SecureClient(new InMemoryCertificateSource(TestPki.Issue(caller)), "spiffe://example.org/billing", service.BaseAddress);
        await using ServiceProvider _ = services;
        using HttpResponseMessage response = await client.GetAsync(new Uri(path, UriKind.Relative));
        return (response.StatusCode, response.Headers.WwwAuthenticate.ToString());
    }

    /// <summary>An application handler that fails every authorization (say, during maintenance).</summary>
    private sealed class MaintenanceModeHandler : IAuthorizationHandler
    {
        public Task HandleAsync(AuthorizationHandlerContext context)
        {
            context.Fail(new AuthorizationFailureReason(this, "maintenance"));
            return Task.CompletedTask;
        }
    }

    private sealed class ApplicationEvaluator : IPolicyEvaluator
    {
        public Task<AuthenticateResult> AuthenticateAsync(AuthorizationPolicy policy, HttpContext context) => Task.FromResult(AuthenticateResult.NoResult());

        public Task<PolicyAuthorizationResult> AuthorizeAsync(AuthorizationPolicy policy, AuthenticateResult authenticationResult, HttpContext context, object? resource) =>
            Task.FromResult(PolicyAuthorizationResult.Forbid());
    }
}
