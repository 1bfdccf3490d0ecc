# frozen_string_literal: true

control 'opennebula-frontend' do
  title 'front-end baseline'
  describe group('cloud') do
    its('gid') { should eq 1001 }
  end
  describe user('oneadmin') do
    its('uid') { should eq 1001 }
  end
  describe file('/etc/hosts') do
    its('content') { should match(/192\.168\.100\.11\s+cloud-cc01\.san\.local/) }
  end
  describe package('pacemaker') do
    it { should be_installed }
  end
  describe file('/etc/corosync/authkey') do
    its('mode') { should cmp '0400' }
  end
end
