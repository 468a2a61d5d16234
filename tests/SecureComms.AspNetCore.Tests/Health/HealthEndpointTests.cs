using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.Health;

/// <summary>The health checks AddSecureComms registers, served by a real Kestrel over mutual TLS.</summary>
[TestClass]
public sealed class HealthEndpointTests
{
    [TestMethod]
    public async Task AddSecureComms_RegistersItsFiveChecks_AndAMappedEndpointAnswersOverMutualTls()
    {
        await using SecureServiceHost service = await SecureServiceHost.StartAsync(
            app => app.MapHealthChecks("/healthz").AllowAnonymous(),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles());
        (ServiceProvider clientServices, HttpClient client) = TestClients.SecureClient(
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders)), "spiffe://example.org/billing", service.BaseAddress);
        await using var _ = clientServices;

        HealthReport report = await service.App.Services.GetRequiredService<HealthCheckService>()
            .CheckHealthAsync(r => r.Tags.Contains(SecureCommsHealthChecks.Tag));
        HttpResponseMessage response = await client.GetAsync(new Uri("/healthz", UriKind.Relative));

        Assert.AreSequenceEqual(new[] { SecureCommsHealthChecks.Certificate, SecureCommsHealthChecks.TrustBundles, SecureCommsHealthChecks.TokenEndpoints, SecureCommsHealthChecks.WorkloadApi, SecureCommsHealthChecks.JwtBundles }, report.Entries.Keys.ToArray(), SequenceOrder.InAnyOrder);
        Assert.AreEqual(HealthStatus.Healthy, report.Status);
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.AreEqual("Healthy", await response.Content.ReadAsStringAsync());
    }

    [TestMethod]
    public async Task CertificateOverdueForRotation_IsServedAsDegraded()
    {
        // Two thirds of the lifetime are gone: 50 of 60 minutes.
        WorkloadCertificate overdue = new(
            TestPki.Ca.IssueCertificate(new SvidSpec
            {
                UriSans = [TestPki.Billing.ToString()],
                NotBefore = DateTimeOffset.UtcNow - TimeSpan.FromMinutes(50),
                NotAfter = DateTimeOffset.UtcNow + TimeSpan.FromMinutes(10),
            }),
            TestPki.Ca.Chain);
        await using SecureServiceHost service = await SecureServiceHost.StartAsync(
            app => app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = r => r.Tags.Contains(SecureCommsHealthChecks.Tag) }).AllowAnonymous(),
            new InMemoryCertificateSource(overdue),
            TestPki.Bundles());
        (ServiceProvider clientServices, HttpClient client) = TestClients.SecureClient(
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders)), "spiffe://example.org/billing", service.BaseAddress);
        await using var _ = clientServices;

        HttpResponseMessage response = await client.GetAsync(new Uri("/healthz", UriKind.Relative));

        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, "Degraded still answers 200 by default, so traffic keeps flowing");
        Assert.AreEqual("Degraded", await response.Content.ReadAsStringAsync());
        Assert.Contains(e => e.Id.Id == 1700, service.Logs.GetSnapshot(), "the expiry warning was logged at start");
    }
}
